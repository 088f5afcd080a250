//! nftables backend (being written: `open` refuses until it lands).

/// nftables backend errors.
#[derive(Debug, thiserror::Error)]
#[error("nftables backend not available yet")]
pub struct NftError;

/// The nftables backend.
pub struct NftBackend;

impl NftBackend {
    pub fn open(_: &super::OpenOptions) -> Result<NftBackend, super::DataplaneError> {
        Err(NftError.into())
    }
}

impl super::Dataplane for NftBackend {
    fn reconcile(&mut self, _: &super::DesiredTables) -> super::ReconcileReport {
        super::ReconcileReport::default()
    }
    fn stats(&mut self) -> Result<super::TableStats, super::DataplaneError> {
        Err(NftError.into())
    }
}
