//! What the components tell the control loop. Every component's reports arrive on one
//! channel as a [`ComponentEvent`], so the loop has a single inbox to wait on.

use crate::dataplane::ReconcileReport;
use crate::health::runtime::CheckResult;

#[derive(Debug)]
pub enum ComponentEvent {
    /// A checker finished a probe.
    Health(CheckResult),
    /// The dataplane thread finished a reconcile.
    Dataplane(ReconcileReport),
    /// The OSPF speaker reports a state change.
    Ospf(ospf::Event),
    /// A BFD session to an OSPF neighbor changed state.
    Bfd(bfd::Event),
    /// A VRRP instance changed state or priority, or hit an error.
    Vrrp(crate::vrrp::VrrpEvent),
}

impl From<ReconcileReport> for ComponentEvent {
    fn from(report: ReconcileReport) -> Self {
        ComponentEvent::Dataplane(report)
    }
}

impl From<CheckResult> for ComponentEvent {
    fn from(result: CheckResult) -> Self {
        ComponentEvent::Health(result)
    }
}
