#pragma once
// One cargomon-sim (3 workflows, 10 minutes of history, no live runs) and one cargomon
// daemon watching it, started once and shared by every case of the test binary.
#include "tests/daemon/daemon_process.h"
#include "tests/support/sim_process.h"

namespace cargomon::testing {

const SimProcess& shared_sim();
const DaemonProcess& shared_daemon();

}  // namespace cargomon::testing
