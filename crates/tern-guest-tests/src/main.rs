// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern-guest-tests`: the tests that need a TERN device, run in the VM by
//! `scripts/guest-test.sh`. Prints KTAP; exits 1 when a test fails.
//!
//! Usage: `tern-guest-tests [FILTER]` runs the tests whose name contains FILTER.

mod ktap;
mod node;
mod pci;

use ktap::Test;

const TESTS: &[Test] = &[
    Test {
        name: "pci_function_present",
        run: pci::function_present,
    },
    Test {
        name: "pci_driver_bound",
        run: pci::driver_bound,
    },
    Test {
        name: "msix_interrupt_delivered",
        run: pci::msix_delivered,
    },
    Test {
        name: "accel_node_discovered",
        run: node::accel_node_discovered,
    },
    Test {
        name: "version_ioctl",
        run: node::version_ioctl,
    },
    Test {
        name: "open_wrong_node_refused",
        run: node::open_wrong_node_refused,
    },
];

fn main() {
    let filter = std::env::args().nth(1);
    let failed = ktap::run(TESTS, filter.as_deref());
    std::process::exit(i32::from(failed > 0));
}
