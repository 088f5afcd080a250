//! The thread that owns the dataplane backend on behalf of the control loop.
//!
//! Backends talk to the kernel synchronously, so they live on their own thread instead of
//! blocking the loop. The loop sends it the newest desired tables; when several arrive
//! while a reconcile runs, only the last one is applied (each is complete, so the earlier
//! ones are obsolete). Reports go back to the loop, which retries failed objects.

use std::sync::mpsc as std_mpsc;
use std::thread;

use tokio::sync::{mpsc, oneshot};

use crate::dataplane::{Dataplane, DataplaneError, DesiredTables, ReconcileReport, TableStats};

enum Command {
    Reconcile(Box<DesiredTables>),
    Stats(oneshot::Sender<Result<TableStats, String>>),
}

/// Handle to the dataplane thread; dropping it stops the thread after its current work.
pub struct DataplaneWorker {
    commands: std_mpsc::Sender<Command>,
}

impl DataplaneWorker {
    /// Starts the thread; each reconcile report is sent through `reports`.
    pub fn spawn<E: From<ReconcileReport> + Send + 'static>(
        backend: Box<dyn Dataplane>,
        reports: mpsc::UnboundedSender<E>,
    ) -> std::io::Result<Self> {
        let (commands, inbox) = std_mpsc::channel();
        thread::Builder::new()
            .name("dataplane".into())
            .spawn(move || work(backend, inbox, reports))?;
        Ok(DataplaneWorker { commands })
    }

    /// Queues a reconcile towards `desired`.
    pub fn reconcile(&self, desired: DesiredTables) {
        // The thread only ends when this handle is dropped, so a send cannot fail while
        // `self` exists; if it ever did, the next reconcile would show it as stale state.
        let _ = self.commands.send(Command::Reconcile(Box::new(desired)));
    }

    /// Reads the counters back from the backend.
    pub async fn stats(&self) -> Result<TableStats, String> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Stats(reply))
            .map_err(|_| "the dataplane thread has stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the dataplane thread has stopped".to_string())?
    }
}

fn work<E: From<ReconcileReport>>(
    mut backend: Box<dyn Dataplane>,
    inbox: std_mpsc::Receiver<Command>,
    reports: mpsc::UnboundedSender<E>,
) {
    while let Ok(command) = inbox.recv() {
        let mut newest = match command {
            Command::Reconcile(desired) => desired,
            Command::Stats(reply) => {
                answer_stats(backend.as_mut(), reply);
                continue;
            }
        };
        // Skip to the newest desired state, answering statistics requests on the way.
        while let Ok(command) = inbox.try_recv() {
            match command {
                Command::Reconcile(desired) => newest = desired,
                Command::Stats(reply) => answer_stats(backend.as_mut(), reply),
            }
        }
        let report = backend.reconcile(&newest);
        if reports.send(E::from(report)).is_err() {
            return;
        }
    }
}

fn answer_stats(backend: &mut dyn Dataplane, reply: oneshot::Sender<Result<TableStats, String>>) {
    let stats = backend
        .stats()
        .map_err(|err: DataplaneError| err.to_string());
    let _ = reply.send(stats);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::memory::MemoryBackend;

    #[tokio::test]
    async fn reconciles_and_reports() {
        let (reports_tx, mut reports) = mpsc::unbounded_channel::<ReconcileReport>();
        let worker =
            DataplaneWorker::spawn(Box::new(MemoryBackend::new()), reports_tx).expect("spawn");
        worker.reconcile(DesiredTables::default());
        let report = reports.recv().await.expect("a report");
        assert!(report.is_clean());
        let stats = worker.stats().await.expect("stats");
        assert!(stats.services.is_empty());
    }
}
