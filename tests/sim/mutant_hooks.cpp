// The simulator's side of the ack-before-commit mutant (NCEN_MUTANT_ACK_BEFORE_COMMIT
// in replication/protocol/session.cpp): the mutant session asks here, after
// it queued an ack and before it commits the batch, whether the node dies
// now. Linked only into ncen-sim-mutant-ack.
#include "tests/sim/world.h"

namespace ncen::replication {

bool MutantCrashBeforeCommit() {
  sim::World* world = sim::World::current();
  return world != nullptr && world->MutantCrashBeforeCommit();
}

}  // namespace ncen::replication
