//! Forwarding tables: the desired state as a pure function of config and health, and the
//! backends (IPVS, nftables, in-memory) that reconcile the kernel towards it.
