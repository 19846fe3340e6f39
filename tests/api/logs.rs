//! Log lines a test can read: a `tracing` subscriber for the test's own thread, writing into a
//! buffer. `#[tokio::test]` runs the app's tasks on that thread too, so their lines land here.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;

/// Every line logged on this thread (any level) while the [`Capture`] lives.
pub struct Capture {
    buffer: Buffer,
    _guard: DefaultGuard,
    _second_dispatch: tracing::Dispatch,
}

impl Capture {
    pub fn start() -> Self {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        // With exactly one Dispatch alive, tracing-core takes a callsite's interest from whichever
        // thread hits it first, so a parallel test thread without a subscriber could switch our
        // callsites off for good (tokio-rs/tracing#3611). A second live Dispatch avoids that path.
        let second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        Self { buffer, _guard: guard, _second_dispatch: second }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.0.lock().expect("log buffer")).into_owned()
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
