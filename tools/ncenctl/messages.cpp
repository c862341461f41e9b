// ncenctl's message commands: msg send, inbox, read, thread, sent
// (docs/messages.md). The rules live in node/messages.h.
#include <fmt/format.h>

#include <cctype>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "base/log.h"
#include "node/config.h"
#include "node/durable_file.h"
#include "node/messages.h"
#include "node/node_dir.h"
#include "tools/ncenctl/commands.h"
#include "tools/ncenctl/input.h"
#include "tools/ncenctl/output.h"

namespace ncen::ctl {

namespace {

using log::IsoTime;
using storage::MessagePriority;
using storage::RecordId;

// One node, its config (for peer names) and its messages.
struct Mailbox {
  Mailbox(node::OpenNode n, node::NodeConfig c) : node(std::move(n)), config(std::move(c)) {}
  node::OpenNode node;
  node::NodeConfig config;
  std::optional<node::Messages> messages;
};

Result<std::unique_ptr<Mailbox>> OpenMailbox(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(node::NodeConfig config, node::LoadConfig(g.data_dir, n.identity.public_key()));
  auto box = std::make_unique<Mailbox>(std::move(n), std::move(config));
  box->messages.emplace(*box->node.store, box->node.identity, &box->config, LocalActor());
  return box;
}

// A media type from a file name's extension; anything else is bytes.
std::string MediaTypeOf(const std::string& name) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".pdf", "application/pdf"}, {".jpg", "image/jpeg"},  {".jpeg", "image/jpeg"}, {".png", "image/png"},
      {".webp", "image/webp"},      {".heic", "image/heic"}, {".txt", "text/plain"},  {".csv", "text/csv"},
      {".json", "application/json"}, {".xml", "application/xml"}, {".zip", "application/zip"},
      {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}};
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [ext, type] : kTypes) {
    std::string_view e(ext);
    if (lower.size() > e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0) return type;
  }
  return "application/octet-stream";
}

json ItemJson(const node::MessageItem& m, bool with_body) { return node::MessageItemJson(m, with_body); }

std::string Marker(const node::MessageItem& m) {
  auto p = static_cast<MessagePriority>(m.mail.priority);
  if (p == MessagePriority::kAlert) return "ALERT ";
  if (p == MessagePriority::kUrgent) return "urgent ";
  return "";
}

void PrintList(const Globals& g, const std::vector<node::MessageItem>& items, bool sent) {
  if (g.json) {
    json out = json::array();
    for (const auto& m : items) out.push_back(ItemJson(m, false));
    PrintJson(out);
    return;
  }
  if (items.empty()) {
    std::cout << (sent ? "no messages sent\n" : "no messages\n");
    return;
  }
  for (const auto& m : items) {
    std::string flag = sent ? "" : (m.mail.state == storage::MailState::kUnread ? "* " : "  ");
    std::cout << fmt::format("{}{}  {}  {:<24}  {}{}\n", flag, storage::FormatRecordId(m.mail.id),
                             IsoTime(m.mail.sent_at_ms).substr(0, 16),
                             Shown(sent ? "to " + m.content.to : m.from), Marker(m), Shown(m.content.subject));
  }
}

void PrintMessage(const node::MessageItem& m, const std::vector<bool>& held = {}) {
  std::cout << fmt::format("id        {}\n", storage::FormatRecordId(m.mail.id));
  std::cout << fmt::format("from      {}{}\n", Shown(m.from),
                           m.content.sent_by.empty() ? "" : " (" + Shown(m.content.sent_by) + ")");
  std::cout << fmt::format("to        {} ({} recipient(s))\n", Shown(m.content.to), m.content.recipients);
  std::cout << fmt::format("sent      {}\n", IsoTime(m.mail.sent_at_ms));
  std::cout << fmt::format("priority  {}\n", storage::MessagePriorityName(static_cast<MessagePriority>(m.mail.priority)));
  if (!m.content.reply_to.empty()) std::cout << fmt::format("reply to  {}\n", m.content.reply_to);
  for (const std::string& link : m.content.links) std::cout << fmt::format("link      {}\n", link);
  for (size_t i = 0; i < m.content.attachments.size(); ++i) {
    const storage::Attachment& a = m.content.attachments[i];
    std::cout << fmt::format("attached  {}. {} ({}, {} bytes){}\n", i + 1, Shown(a.name), Shown(a.media_type), a.size,
                             i < held.size() && !held[i] ? " - not here yet" : "");
  }
  std::cout << fmt::format("subject   {}\n\n", Shown(m.content.subject));
  // The body keeps its lines, each indented, so that a body cannot pass
  // for the header of another message; control characters other than
  // newlines and tabs were refused when it was opened.
  std::istringstream body(m.content.body);
  for (std::string line; std::getline(body, line);) std::cout << "    " << line << "\n";
}

}  // namespace

Status MsgSend(const Globals& g, const MsgSendOptions& o) {
  node::MessageDraft draft;
  draft.to.nodes = o.to;
  draft.to.country = o.country;
  draft.to.region = o.region;
  draft.to.all = o.all;
  draft.subject = o.subject;
  if (!o.body_file.empty()) {
    if (!o.body.empty()) return InvalidArgument("give --body or --body-file, not both");
    NCEN_ASSIGN_OR_RETURN(draft.body, ReadInput(o.body_file, storage::kMessageBodyBytesMax + 1));
    if (draft.body.size() > storage::kMessageBodyBytesMax) {
      return InvalidArgument(InputName(o.body_file) + " is more than the " +
                             std::to_string(storage::kMessageBodyBytesMax / 1024) + " KiB limit for a message body");
    }
  } else {
    draft.body = o.body;
  }
  if (o.priority == "normal") {
    draft.priority = MessagePriority::kNormal;
  } else if (o.priority == "urgent") {
    draft.priority = MessagePriority::kUrgent;
  } else if (o.priority == "alert") {
    draft.priority = MessagePriority::kAlert;
  } else {
    return InvalidArgument("--priority must be normal, urgent or alert, not '" + Shown(o.priority) + "'");
  }
  draft.links = o.links;
  draft.reply_to = o.reply_to;
  if (o.attach.size() > storage::kMessageAttachmentsMax) {
    return InvalidArgument("more than " + std::to_string(storage::kMessageAttachmentsMax) + " attachments");
  }
  for (const std::string& file : o.attach) {
    std::error_code ec;
    if (file != "-" && std::filesystem::is_regular_file(file, ec)) {
      uint64_t size = std::filesystem::file_size(file, ec);
      if (!ec && size > storage::kAttachmentBytesMax) {
        return InvalidArgument(fmt::format("{} is {:.1f} MB, more than the 50 MB limit for an attachment", file,
                                           static_cast<double>(size) / 1e6));
      }
    }
    if (file == "-") return InvalidArgument("--attach takes a file, not standard input");
    NCEN_ASSIGN_OR_RETURN(std::string bytes, ReadInput(file, storage::kAttachmentBytesMax + 1));
    if (bytes.size() > storage::kAttachmentBytesMax) {
      return InvalidArgument(file + " is more than the 50 MB limit for an attachment");
    }
    if (bytes.empty()) return InvalidArgument(file + " is empty");
    std::string name = std::filesystem::path(file).filename().string();
    draft.attachments.push_back({name, MediaTypeOf(name), Bytes(bytes.begin(), bytes.end())});
  }
  NCEN_ASSIGN_OR_RETURN(auto box, OpenMailbox(g));
  NCEN_ASSIGN_OR_RETURN(node::SentMessage sent, box->messages->Send(draft));
  if (g.json) {
    PrintJson(node::SentMessageJson(sent));
  } else {
    std::cout << fmt::format("sent message {} to {} recipient(s), scope {}\n", storage::FormatRecordId(sent.id),
                             sent.recipients, storage::ScopeName(sent.scope));
  }
  return Status::Ok();
}

Status MsgInbox(const Globals& g, bool unread_only, size_t limit) {
  NCEN_ASSIGN_OR_RETURN(auto box, OpenMailbox(g));
  NCEN_ASSIGN_OR_RETURN(auto items, box->messages->Inbox(unread_only, limit));
  PrintList(g, items, false);
  return Status::Ok();
}

Status MsgSent(const Globals& g, size_t limit) {
  NCEN_ASSIGN_OR_RETURN(auto box, OpenMailbox(g));
  NCEN_ASSIGN_OR_RETURN(auto items, box->messages->Sent(limit));
  PrintList(g, items, true);
  return Status::Ok();
}

Status MsgRead(const Globals& g, const std::string& id_text, const std::string& save_dir, const std::string& mark) {
  NCEN_ASSIGN_OR_RETURN(RecordId id, storage::ParseRecordId(id_text));
  std::optional<storage::MailState> state;
  if (mark == "unread") {
    state = storage::MailState::kUnread;
  } else if (mark == "archived") {
    state = storage::MailState::kArchived;
  } else if (!mark.empty()) {
    return InvalidArgument("--mark must be unread or archived, not '" + Shown(mark) + "'");
  }
  if (!save_dir.empty() && !std::filesystem::is_directory(save_dir)) {
    return InvalidArgument("--save " + save_dir + ": no such directory");
  }
  NCEN_ASSIGN_OR_RETURN(auto box, OpenMailbox(g));
  if (state) {
    // Marked first: a message that does not open can still be archived.
    NCEN_RETURN_IF_ERROR(box->messages->CatchUp().status());
    NCEN_ASSIGN_OR_RETURN(auto mail, box->node.store->GetMail(id));
    if (mail && mail->sent) return InvalidArgument("message " + id_text + " was sent from here: it has no inbox state");
    if (mail) NCEN_RETURN_IF_ERROR(box->node.store->SetMailState(id, *state));
  }
  NCEN_ASSIGN_OR_RETURN(node::MessageItem item, box->messages->Read(id, /*mark_read=*/!state));
  std::vector<bool> held;
  for (size_t i = 0; i < item.content.attachments.size(); ++i) {
    NCEN_ASSIGN_OR_RETURN(bool here, box->messages->AttachmentHeld(item, i));
    held.push_back(here);
  }
  if (g.json) {
    json j = ItemJson(item, true);
    for (size_t i = 0; i < held.size(); ++i) j["attachments"][i]["held"] = static_cast<bool>(held[i]);
    PrintJson(j);
  } else {
    PrintMessage(item, held);
  }
  if (save_dir.empty()) return Status::Ok();
  // Every missing file is asked for at once; then every file is decrypted;
  // then written, none over an existing one.
  NCEN_ASSIGN_OR_RETURN(size_t missing, box->messages->DemandAttachments(item));
  if (missing > 0) {
    return Unavailable(std::to_string(missing) + " attachment(s) of message " + id_text +
                       " are not here yet: asked for, they come with the next sync");
  }
  std::vector<std::pair<std::string, Bytes>> files;
  for (size_t i = 0; i < item.content.attachments.size(); ++i) {
    NCEN_ASSIGN_OR_RETURN(Bytes file, box->messages->AttachmentFile(item, i));
    std::string path = (std::filesystem::path(save_dir) / item.content.attachments[i].name).string();
    if (std::filesystem::exists(path)) return InvalidArgument(path + " exists; not overwritten");
    files.emplace_back(path, std::move(file));
  }
  for (const auto& [path, bytes] : files) {
    std::filesystem::path p(path);
    NCEN_RETURN_IF_ERROR(node::ReplaceFileAtomically(p.parent_path().string(), p.filename().string(),
                                                     std::string_view(reinterpret_cast<const char*>(bytes.data()),
                                                                      bytes.size())));
    if (!g.json) std::cout << fmt::format("saved     {}\n", path);
  }
  return Status::Ok();
}

Status MsgThread(const Globals& g, const std::string& id_text) {
  NCEN_ASSIGN_OR_RETURN(RecordId id, storage::ParseRecordId(id_text));
  NCEN_ASSIGN_OR_RETURN(auto box, OpenMailbox(g));
  NCEN_ASSIGN_OR_RETURN(auto items, box->messages->Thread(id));
  if (g.json) {
    json out = json::array();
    for (const auto& m : items) out.push_back(ItemJson(m, true));
    PrintJson(out);
    return Status::Ok();
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) std::cout << "\n----\n\n";
    PrintMessage(items[i]);
  }
  return Status::Ok();
}

}  // namespace ncen::ctl
