//! Where the log goes: standard error, written by a thread of its own.
//!
//! Every request logs a line. Written where it is logged, each line would cost a `write(2)` on
//! the request's path and contention on standard error between the runtime's threads; here a
//! line is appended to a buffer in memory, and the writing thread takes the buffer as a whole, so
//! that a burst of requests makes one write every [`GATHER`] at most.
//!
//! What that costs: a line reaches standard error up to [`GATHER`] (plus the write) after it was
//! logged, and a process killed with SIGKILL loses the lines of that last moment. A process that
//! ends by itself calls [`Log::flush`] first. If standard error stops taking lines (a pipe nobody
//! reads), at most [`MAX_PENDING`] bytes wait; lines past that are dropped and counted, and the
//! count is logged once lines are taken again, instead of stalling the requests that log.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writing thread lets lines gather after each write.
pub const GATHER: Duration = Duration::from_millis(2);
/// The most bytes waiting to be written.
pub const MAX_PENDING: usize = 4 << 20;

/// The log's destination; cheap to clone.
#[derive(Clone)]
pub struct Log {
    shared: Arc<Shared>,
}

struct Shared {
    pending: Mutex<Pending>,
    /// Signalled when a line arrives in an empty buffer, and when a flush is asked for.
    arrived: Condvar,
    /// Signalled each time the writing thread has written what it took.
    written: Condvar,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    dropped: u64,
    /// Batches taken by the writing thread, and batches it has written.
    taken: u64,
    done: u64,
}

impl Log {
    /// Starts the thread writing to standard error.
    pub fn start() -> Log {
        Log::writing_to(std::io::stderr())
    }

    fn writing_to(mut out: impl Write + Send + 'static) -> Log {
        let shared = Arc::new(Shared::new());
        let writer = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("ctlcloud-log".into())
            .spawn(move || writer.run(&mut out))
            .expect("the log's thread starts");
        Log { shared }
    }

    /// Returns once every line logged before the call has been written.
    pub fn flush(&self) {
        let shared = &self.shared;
        let mut pending = shared.lock();
        // What is waiting now is written in the batch after the one being written, if any.
        let target = pending.taken + u64::from(!pending.bytes.is_empty());
        shared.arrived.notify_one();
        while pending.done < target {
            pending = shared
                .written
                .wait(pending)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Shared {
    fn new() -> Shared {
        Shared {
            pending: Mutex::new(Pending::default()),
            arrived: Condvar::new(),
            written: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A thread that panicked while holding the lock left whole lines or none.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn append(&self, line: &[u8]) {
        let mut pending = self.lock();
        if pending.bytes.len() + line.len() > MAX_PENDING {
            pending.dropped += 1;
            return;
        }
        let was_empty = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(line);
        drop(pending);
        if was_empty {
            self.arrived.notify_one();
        }
    }

    /// The writing thread: takes what is pending, writes it, lets the next lines gather.
    fn run(&self, out: &mut impl Write) {
        let mut spare = Vec::new();
        loop {
            let dropped = {
                let mut pending = self.lock();
                while pending.bytes.is_empty() {
                    pending = self
                        .arrived
                        .wait(pending)
                        .unwrap_or_else(|e| e.into_inner());
                }
                std::mem::swap(&mut pending.bytes, &mut spare);
                pending.taken += 1;
                std::mem::take(&mut pending.dropped)
            };
            if dropped > 0 {
                let note = format!("ctlcloud: {dropped} log lines were dropped: standard error did not take them\n");
                let _ = out.write_all(note.as_bytes());
            }
            // Nowhere to report a failed write to: the log is where it would go.
            let _ = out.write_all(&spare);
            let _ = out.flush();
            spare.clear();
            {
                let mut pending = self.lock();
                pending.done += 1;
            }
            self.written.notify_all();
            std::thread::sleep(GATHER);
        }
    }
}

/// One line being logged.
pub struct LogLine<'a> {
    shared: &'a Shared,
}

impl Write for LogLine<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter writes each event whole, in one call.
        self.shared.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Log {
    type Writer = LogLine<'a>;

    fn make_writer(&'a self) -> LogLine<'a> {
        LogLine {
            shared: &self.shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A destination the test can read, standing in for standard error.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_from_many_threads_are_all_written_whole_and_in_order_per_thread() {
        let sink = Sink::default();
        let log = Log::writing_to(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        log.make_writer()
                            .write_all(format!("thread {t} line {i}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        log.flush();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4000);
        for t in 0..4 {
            let mine: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .collect();
            let expected: Vec<String> = (0..1000).map(|i| format!("thread {t} line {i}")).collect();
            assert_eq!(mine, expected);
        }
    }

    #[test]
    fn flush_returns_after_what_was_logged_before_it_is_written() {
        let sink = Sink::default();
        let log = Log::writing_to(sink.clone());
        for round in 0..50 {
            let line = format!("round {round}\n");
            log.make_writer().write_all(line.as_bytes()).unwrap();
            log.flush();
            let written = sink.0.lock().unwrap().clone();
            assert!(written.ends_with(line.as_bytes()), "round {round}");
        }
        // With nothing pending, flush does not wait for a line that never comes.
        log.flush();
    }

    #[test]
    fn lines_past_the_cap_are_dropped_and_counted_not_queued() {
        let shared = Shared::new();
        let line = vec![b'x'; 1 << 20];
        for _ in 0..6 {
            shared.append(&line);
        }
        let pending = shared.lock();
        assert_eq!(pending.bytes.len(), 4 << 20);
        assert_eq!(pending.dropped, 2);
    }
}
