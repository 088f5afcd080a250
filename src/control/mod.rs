//! The control loop: the single owner of desired state, driving dataplane, announcer and VRRP.
