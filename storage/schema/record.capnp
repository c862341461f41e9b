# Record bodies (disk format, version 1): the payload of a put entry is a
# single-segment unpacked Cap'n Proto message whose root is the struct of the
# entry's record type. The CLI's JSON form is derived from this file by
# storage/record_json.cpp: field and enumerant names in snake_case, enumerant
# `unspecified` meaning "absent". See docs/data-model.md.
@0xad01792834e42f48;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ncen::storage::schema");

# ---- Validation annotations, read by the JSON codec through reflection ----

enum Format {
  none @0;
  date @1;             # YYYY-MM-DD, a real calendar date, year 1900..2100
  time @2;             # HH:MM (24 h)
  country @3;          # ISO 3166-1 alpha-2
  currency @4;         # ISO 4217
  hsCode @5;           # Harmonized System: 6, 8 or 10 digits
  office @6;           # UN/LOCODE style: country + 3 letters/digits (e.g. PKKHI)
  recordId @7;         # an ncen record id
  containerNumber @8;  # ISO 6346 with a valid check digit
  imo @9;              # IMO ship number, 7 digits with a valid check digit
  airWaybill @10;      # 3-digit airline prefix, '-', 8 digits with mod-7 check digit
  code @11;            # lower-case snake_case token (a–z, 0–9, _)
  documentNumber @12;  # letters, digits, '-', '/', '.', ' ' (1..32)
  phone @13;           # '+', digits, spaces, '-', '(', ')'
  citesAppendix @14;   # I, II or III
  flightNumber @15;    # 2-3 character carrier code + 1-4 digits
  opaqueRef @16;       # 32 lower-case hex digits (a release's reference)
  timestamp @17;       # ISO 8601 UTC with milliseconds: 2026-11-02T12:00:00.000Z
  blobHash @18;        # 64 lower-case hex digits: BLAKE2b-256 of a blob's bytes
  mediaType @19;       # a photo's media type: image/jpeg, image/png, image/webp or image/heic
}

annotation required @0xd7a5b2c31e4f6a01 (field) :Void;
annotation format @0xd7a5b2c31e4f6a02 (field) :Format;
annotation positive @0xd7a5b2c31e4f6a03 (field) :Void;
annotation nonNegative @0xd7a5b2c31e4f6a04 (field) :Void;
annotation maxLength @0xd7a5b2c31e4f6a05 (field) :UInt32;
annotation jsonName @0xd7a5b2c31e4f6a06 (field, enumerant) :Text;

# ---- Who entered a version (docs/data-model.md, "entered_by") ----
#
# Written by the node's record operations (node/records.h), never taken from
# the client's body: the officer logged in to the API, or the local system
# user of ncenctl, and the node's name. Inside the signed payload, so it
# travels with the record. Absent in payloads written before it existed.

struct EnteredBy {
  name @0 :Text $required $maxLength(100);  # the officer (API) or system user (CLI)
  node @1 :Text $maxLength(100);            # the node's name when it was written
  via @2 :Text $format(code);               # api or cli
}

# ---- Seizure ----

enum Direction {
  unspecified @0;
  import @1;
  export @2;
  transit @3;
  transhipment @4;
  domestic @5;
}

enum TransportMode {
  unspecified @0;
  roadTruck @1;
  roadCar @2;
  roadBus @3;
  rail @4;
  seaContainer @5;
  seaBulk @6;
  seaVessel @7;
  seaPassenger @8;
  airCargo @9;
  airPassenger @10;
  postal @11;
  expressCourier @12;
  pedestrian @13;
  pipeline @14;
  other @15;
}

enum DetectionMethod {
  unspecified @0;
  riskProfiling @1;
  niiXray @2;
  detectorDog @3;
  physicalExamination @4;
  documentCheck @5;
  intelligence @6;
  tipOff @7;
  randomSelection @8;
  behaviouralAnalysis @9;
  controlledDelivery @10;
  postClearanceAudit @11;
  other @12;
}

enum ConcealmentMethod {
  unspecified @0;
  notConcealed @1;
  misdeclaredGoods @2;
  insideGoods @3;
  mixedWithCargo @4;
  vehicleBuiltCompartment @5;
  vehicleNaturalVoid @6;
  containerStructure @7;
  luggageFalseBottom @8;
  luggage @9;
  bodyWorn @10;
  internalBody @11;
  postalItem @12;
  clothing @13;
  other @14;
}

enum Offence {
  unspecified @0;
  smuggling @1;
  prohibitedGoods @2;
  restrictedNoLicence @3;
  falseDescription @4;
  undervaluation @5;
  falseOrigin @6;
  exciseEvasion @7;
  iprInfringement @8;
  citesViolation @9;
  currencyNotDeclared @10;
  moneyLaundering @11;
  documentFraud @12;
  other @13;
}

enum RouteRole {
  unspecified @0;
  origin @1;
  departure @2;
  transit @3;
  seizure @4;
  destination @5;
}

struct RoutePoint {
  role @0 :RouteRole;
  country @1 :Text $required $format(country);
  place @2 :Text $maxLength(200);
}

enum ConveyanceType {
  unspecified @0;
  vehicle @1;
  container @2;
  vessel @3;
  aircraft @4;
  railWagon @5;
  postalItem @6;
  person @7;
  other @8;
}

struct Conveyance {
  type @0 :ConveyanceType;
  make @1 :Text $maxLength(100);
  model @2 :Text $maxLength(100);
  registration @3 :Text $maxLength(32);
  registrationCountry @4 :Text $format(country);
  containerNumber @5 :Text $format(containerNumber);
  vesselName @6 :Text $maxLength(100);
  imo @7 :Text $format(imo);
  carrier @8 :Text $maxLength(100);
  flightNumber @9 :Text $format(flightNumber);
  waybill @10 :Text $format(airWaybill);
  trackingNumber @11 :Text $maxLength(64);
}

enum GoodsCategory {
  unspecified @0;
  drugs @1;
  precursors @2;
  revenue @3;        # tobacco, alcohol, fuel and other dutiable goods
  environment @4;    # CITES species, waste, ozone-depleting substances
  ipr @5;            # counterfeit and pirated goods
  weapons @6;
  cultural @7;
  currency @8;
  nuclear @9;
  medicines @10;
  other @11;
}

enum Unit {
  unspecified @0;
  kg @1;
  g @2;
  t @3;
  l @4;
  ml @5;
  stick @6;
  piece @7;
  pack @8;
  carton @9;
  tablet @10;
  ampoule @11;
  pair @12;
  m3 @13;
  head @14;          # live animals
  currencyUnit @15;  # cash counted in its own currency
}

enum ValueBasis {
  unspecified @0;
  customs @1;
  declared @2;
  street @3;
  market @4;
  estimated @5;
}

struct Money {
  amount @0 :Float64 $required $nonNegative;
  currency @1 :Text $required $format(currency);
  basis @2 :ValueBasis;
}

struct GoodsItem {
  category @0 :GoodsCategory $required;
  subtype @1 :Text $format(code);
  hsCode @2 :Text $format(hsCode);
  description @3 :Text $maxLength(1000);
  quantity @4 :Float64 $required $positive;
  unit @5 :Unit $required;
  value @6 :Money;
  packages @7 :UInt32;
  brand @8 :Text $maxLength(100);
  originCountry @9 :Text $format(country);
  species @10 :Text $maxLength(200);
  citesAppendix @11 :Text $format(citesAppendix);
}

enum CaseStatus {
  unspecified @0;
  open @1;
  underInvestigation @2;
  referredToProsecution @3;
  closed @4;
}

struct Seizure {
  reference @0 :Text $maxLength(64);
  date @1 :Text $required $format(date);
  time @2 :Text $format(time);
  country @3 :Text $required $format(country);
  office @4 :Text $required $format(office);
  place @5 :Text $maxLength(200);
  direction @6 :Direction;
  transportMode @7 :TransportMode;
  detectionMethod @8 :DetectionMethod;
  concealmentMethod @9 :ConcealmentMethod;
  concealmentNote @10 :Text $maxLength(2000);
  offences @11 :List(Offence);
  route @12 :List(RoutePoint);
  conveyance @13 :Conveyance;
  goods @14 :List(GoodsItem) $required;
  narrative @15 :Text $maxLength(20000);
  suspects @16 :List(Text) $format(recordId);
  companies @17 :List(Text) $format(recordId);
  photos @18 :List(Text) $format(recordId);
  officer @19 :Text $maxLength(100);
  status @20 :CaseStatus;
  enteredBy @21 :EnteredBy;
}

# ---- Suspect ----

enum Gender {
  unspecified @0;
  m @1;
  f @2;
  x @3;
}

enum DocumentType {
  unspecified @0;
  passport @1;
  nationalIdCard @2;
  drivingLicence @3;
  residencePermit @4;
  seafarerBook @5;
  crewCard @6;
  visa @7;
  other @8;
}

struct IdentityDocument {
  type @0 :DocumentType $required;
  number @1 :Text $required $format(documentNumber);
  country @2 :Text $format(country);
  issued @3 :Text $format(date);
  expires @4 :Text $format(date);
}

enum SuspectFlag {
  unspecified @0;
  armed @1;
  violent @2;
  flightRisk @3;
  repeatOffender @4;
  courier @5;
  organiser @6;
  wanted @7;
  minor @8;
}

struct Suspect {
  surname @0 :Text $required $maxLength(200);
  forenames @1 :Text $maxLength(200);
  aliases @2 :List(Text);
  birthDate @3 :Text $format(date);
  birthPlace @4 :Text $maxLength(200);
  gender @5 :Gender;
  nationalities @6 :List(Text) $format(country);
  documents @7 :List(IdentityDocument);
  address @8 :Text $maxLength(500);
  phones @9 :List(Text) $format(phone);
  occupation @10 :Text $maxLength(200);
  flags @11 :List(SuspectFlag);
  notes @12 :Text $maxLength(20000);
  enteredBy @13 :EnteredBy;
}

# ---- Company ----

enum CompanyRole {
  unspecified @0;
  importer @1;
  exporter @2;
  consignee @3;
  consignor @4;
  freightForwarder @5;
  declarant @6;
  customsBroker @7;
  carrier @8;
  manufacturer @9;
  shippingAgent @10;
  other @11;
}

struct Company {
  name @0 :Text $required $maxLength(300);
  tradeNames @1 :List(Text);
  registrationNumber @2 :Text $format(documentNumber);
  taxId @3 :Text $format(documentNumber);
  traderId @4 :Text $format(documentNumber);
  country @5 :Text $required $format(country);
  address @6 :Text $maxLength(500);
  roles @7 :List(CompanyRole);
  phones @8 :List(Text) $format(phone);
  email @9 :Text $maxLength(200);
  notes @10 :Text $maxLength(20000);
  enteredBy @11 :EnteredBy;
}

# ---- Seizure report (a release: docs/sharing.md) ----
#
# The non-nominal projection of a seizure that a national hub releases to a
# regional or global hub. It holds no free text an officer typed: every text
# field is a code or comes from a code list.

enum AgeBand {
  unspecified @0;
  under18 @1 $jsonName("under_18");
  from18To24 @2 $jsonName("18_24");
  from25To34 @3 $jsonName("25_34");
  from35To44 @4 $jsonName("35_44");
  from45To54 @5 $jsonName("45_54");
  from55To64 @6 $jsonName("55_64");
  from65 @7 $jsonName("65_plus");
  unknown @8;
}

struct CountryCount {
  country @0 :Text $required $format(country);
  count @1 :UInt32;
}

struct GenderCount {
  gender @0 :Gender $required;
  count @1 :UInt32;
}

struct AgeBandCount {
  band @0 :AgeBand $required;
  count @1 :UInt32;
}

struct ReportRoutePoint {
  role @0 :RouteRole;
  country @1 :Text $required $format(country);
}

struct ReportGoodsItem {
  category @0 :GoodsCategory $required;
  subtype @1 :Text $format(code);
  hsCode @2 :Text $format(hsCode);
  quantity @3 :Float64 $required $positive;
  unit @4 :Unit $required;
  value @5 :Money;
  packages @6 :UInt32;
  originCountry @7 :Text $format(country);
  citesAppendix @8 :Text $format(citesAppendix);
}

struct SeizureReport {
  reference @0 :Text $required $format(opaqueRef);
  date @1 :Text $required $format(date);
  country @2 :Text $required $format(country);
  office @3 :Text $format(office);
  direction @4 :Direction;
  route @5 :List(ReportRoutePoint);
  conveyanceType @6 :ConveyanceType;
  transportMode @7 :TransportMode;
  detectionMethod @8 :DetectionMethod;
  concealmentMethod @9 :ConcealmentMethod;
  concealmentDescription @10 :Text $maxLength(200);
  offences @11 :List(Offence);
  goods @12 :List(ReportGoodsItem) $required;
  suspectCount @13 :UInt32;
  suspectNationalities @14 :List(CountryCount);
  suspectGenders @15 :List(GenderCount);
  suspectAgeBands @16 :List(AgeBandCount);
  companyCount @17 :UInt32;
  companyCountries @18 :List(CountryCount);
  companyNames @19 :List(Text);
  releasedBy @20 :Text $maxLength(100);
  releasedAt @21 :Text $format(timestamp);
  photos @22 :List(ReportPhoto);  # only those the person releasing named
}

struct ReportPhoto {
  image @0 :BlobRef $required;
  preview @1 :BlobRef $required;
}

# ---- Photo (docs/blobs.md) ----
#
# One use of a photo: the record it shows, the image and its preview (blobs,
# by hash), and what the officer wrote about it. The blob's bytes are not in
# the payload; the signature covers the reference, so the bytes are checked
# by their hash alone wherever they come from.

struct BlobRef {
  hash @0 :Text $required $format(blobHash);
  size @1 :UInt32 $positive;   # bytes; at most 64 MiB (limits.h kBlobBytesMax)
  mediaType @2 :Text $required $format(mediaType);
  width @3 :UInt32 $positive;
  height @4 :UInt32 $positive;
}

struct Photo {
  subject @0 :Text $required $format(recordId);  # the seizure, suspect or company it shows
  image @1 :BlobRef $required;
  preview @2 :BlobRef $required;
  caption @3 :Text $maxLength(500);
  note @4 :Text $maxLength(2000);                # the photographer's note
  metadataKept @5 :Bool;                         # true: GPS and camera data were kept on purpose
  sourceFormat @6 :Text $format(code);           # jpeg, png, webp, heic
  enteredBy @7 :EnteredBy;
}
