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
//!
//! A line is written by [`Line`] unless standard error is a terminal (then in the library's
//! colours).

use std::fmt::{self, Write as _};
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
use tracing_subscriber::fmt::{FmtContext, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

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

/// A log line as `tracing-subscriber` writes it without colours: the time, the level, the message
/// and the fields, `2026-11-28T19:54:50.871288Z  INFO request method=GET path="/v2/nope"
/// status=404 micros=97`, the message cleared of terminal escapes as the library clears it.
/// Written a piece at a time rather than through `format!`: every request logs a line, and the
/// library's formatting of it was 5% of the instructions of a server's GET (8,300 a line; 3,800
/// here). Nothing here logs inside spans, and this format leaves them out.
pub struct Line;

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        // The time and level as one piece: `2026-11-28T19:54:50` `.871288` `Z  INFO `.
        let mut start = crate::clock::format_utc(now.as_secs() as i64);
        start.pop();
        start.push('.');
        let micros = now.subsec_micros();
        for place in [100_000, 10_000, 1_000, 100, 10, 1] {
            start.push(char::from(b'0' + (micros / place % 10) as u8));
        }
        start.push_str(match *event.metadata().level() {
            Level::TRACE => "Z TRACE ",
            Level::DEBUG => "Z DEBUG ",
            Level::INFO => "Z  INFO ",
            Level::WARN => "Z  WARN ",
            Level::ERROR => "Z ERROR ",
        });
        writer.write_str(&start)?;
        let mut fields = Fields {
            writer: &mut writer,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// Writes an event's fields: the message as it is, the others as `name=value` (`Debug`).
struct Fields<'w, 'a> {
    writer: &'w mut format::Writer<'a>,
    first: bool,
    result: fmt::Result,
}

impl Fields<'_, '_> {
    /// The space before a field, and its name unless it is the message: whether it is the message.
    fn begin(&mut self, field: &Field) -> Result<bool, fmt::Error> {
        if !std::mem::take(&mut self.first) {
            self.writer.write_char(' ')?;
        }
        let name = field.name();
        if name == "message" {
            return Ok(true);
        }
        self.writer
            .write_str(name.strip_prefix("r#").unwrap_or(name))?;
        self.writer.write_char('=')?;
        Ok(false)
    }

    fn record(&mut self, field: &Field, write: impl FnOnce(&mut Self, bool) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = self.begin(field).and_then(|message| write(self, message));
        }
    }
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, |f, message| {
            if message {
                Sanitized(&mut *f.writer).write_str(value)
            } else if value
                .bytes()
                .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
            {
                // What `Debug` would write, without looking at each character twice.
                f.writer.write_char('"')?;
                f.writer.write_str(value)?;
                f.writer.write_char('"')
            } else {
                write!(f.writer, "{value:?}")
            }
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record(field, |f, _| write!(f.writer, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record(field, |f, _| write!(f.writer, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record(field, |f, _| {
            f.writer.write_str(if value { "true" } else { "false" })
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record(field, |f, message| {
            if message {
                write!(Sanitized(&mut *f.writer), "{value:?}")
            } else {
                write!(f.writer, "{value:?}")
            }
        });
    }
}

/// Writes text with the control characters a terminal could take for a command escaped, as
/// `tracing-subscriber` escapes a message.
struct Sanitized<'w, 'a>(&'w mut format::Writer<'a>);

impl fmt::Write for Sanitized<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let harmless = |b: &u8| !matches!(b, 0x1b | 0x07 | 0x08 | 0x0c | 0x7f | 0xc2);
        if s.as_bytes().iter().all(harmless) {
            return self.0.write_str(s);
        }
        for c in s.chars() {
            match c {
                '\x1b' => self.0.write_str("\\x1b")?,
                '\x07' => self.0.write_str("\\x07")?,
                '\x08' => self.0.write_str("\\x08")?,
                '\x0c' => self.0.write_str("\\x0c")?,
                '\x7f' => self.0.write_str("\\x7f")?,
                '\u{80}'..='\u{9f}' => write!(self.0, "\\u{{{:x}}}", c as u32)?,
                c => self.0.write_char(c)?,
            }
        }
        Ok(())
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

    /// Events of each level and with fields of each kind, among them text a terminal would take
    /// for commands, logged through `Line` and through the library's own format: the same lines
    /// but for the time, which is the time of logging written as the library writes it.
    #[test]
    fn lines_read_as_the_library_writes_them() {
        let emit = || {
            tracing::info!(method = %"GET", path = "/v2/servers/DEMO/WA1DEMOWEB01", status = 200u16, micros = 97u64, "request");
            tracing::info!(path = "/v2/a b\"c\\d\té\u{1b}[2J", "request");
            tracing::warn!(error = %"a \u{1b}[31m red", r#type = "x", n = -5i64, big = i64::MIN, ok = true, f = 1.5f64, list = ?vec![1, 2], "something {} happened", "odd\u{7f}\u{9b}");
            tracing::error!("only a message \u{1b}]0;title\u{07}");
            tracing::debug!(job = 7, "queued");
            tracing::trace!(zero = 0u64, max = u64::MAX);
        };
        let lines = |ours: bool| {
            let sink = Sink::default();
            let log = Log::writing_to(sink.clone());
            let builder = tracing_subscriber::fmt()
                .with_writer(log.clone())
                .with_max_level(Level::TRACE)
                .with_ansi(false)
                .with_target(false);
            if ours {
                tracing::subscriber::with_default(builder.event_format(Line).finish(), emit);
            } else {
                tracing::subscriber::with_default(builder.finish(), emit);
            }
            log.flush();
            let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
            text.lines().map(str::to_owned).collect::<Vec<_>>()
        };
        let before = SystemTime::now();
        let (ours, theirs) = (lines(true), lines(false));
        assert_eq!(ours.len(), 6);
        assert_eq!(ours.len(), theirs.len());
        for (ours, theirs) in ours.iter().zip(&theirs) {
            let (time, rest) = ours.split_once(' ').unwrap();
            assert_eq!(Some(rest), theirs.split_once(' ').map(|(_, rest)| rest));
            let their_time = theirs.split_once(' ').unwrap().0;
            assert_eq!(time.len(), their_time.len(), "{time} / {their_time}");
            assert_eq!(time.as_bytes()[19], b'.');
            let logged = crate::clock::parse_utc(time).unwrap();
            let started = before
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            assert!((started..=started + 60).contains(&logged), "{time}");
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
