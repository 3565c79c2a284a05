//! W3C trace context: what links an HTTP request to the events it caused
//! and to every consumer's work on them.

use serde::{Deserialize, Serialize};

/// W3C trace context carried from the HTTP request to every consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceContext {
    /// `traceparent` header value: `00-<trace id>-<span id>-<flags>`.
    pub traceparent: String,
    /// `tracestate` header value, passed through untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

impl TraceContext {
    /// Accepts a well-formed version-00 `traceparent`; anything else is ignored
    /// (a bad header from a client must not break its request).
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        let parts: Vec<&str> = traceparent.trim().split('-').collect();
        let hex =
            |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        let ok = parts.len() == 4
            && parts[0] == "00"
            && hex(parts[1], 32)
            && parts[1] != "0".repeat(32)
            && hex(parts[2], 16)
            && parts[2] != "0".repeat(16)
            && hex(parts[3], 2);
        ok.then(|| Self {
            traceparent: traceparent.trim().to_owned(),
            tracestate: tracestate.filter(|s| s.len() <= 512).map(str::to_owned),
        })
    }

    /// The 32-hex-digit trace id.
    pub fn trace_id(&self) -> &str {
        self.traceparent.get(self.trace_id_range()).unwrap_or_default()
    }

    /// Where the trace id sits in `traceparent`.
    fn trace_id_range(&self) -> std::ops::Range<usize> {
        if self.field(3..35).is_some() {
            return 3..35;
        }
        // Any other shape: the second dash-separated field, if there is one.
        let mut parts = self.traceparent.split('-');
        match (parts.next(), parts.next()) {
            (Some(version), Some(id)) => version.len() + 1..version.len() + 1 + id.len(),
            _ => 0..0,
        }
    }

    /// The 16-hex-digit id of the span this context names as parent.
    pub fn span_id(&self) -> &str {
        self.field(36..52).unwrap_or_else(|| self.traceparent.split('-').nth(2).unwrap_or_default())
    }

    /// A field of a well-formed version-00 traceparent by its fixed place
    /// (every request reads both ids; splitting showed in its profile);
    /// `None` for any other shape, which the callers then split.
    fn field(&self, at: std::ops::Range<usize>) -> Option<&str> {
        let b = self.traceparent.as_bytes();
        let shaped = b.len() == TRACEPARENT_LEN && b[2] == b'-' && b[35] == b'-' && b[52] == b'-';
        shaped.then(|| self.traceparent.get(at)).flatten()
    }

    /// A new trace: random trace and span ids, sampled.
    pub fn root() -> Self {
        Self { traceparent: traceparent(random_trace_id(), random_span_id(), "01"), tracestate: None }
    }

    /// A span of the same trace under this one: same trace id, flags and
    /// state, a new random span id (what a service passes on downstream).
    pub fn child(&self) -> Self {
        let flags = self.traceparent.rsplit('-').next().unwrap_or("01");
        let mut traceparent = String::with_capacity(TRACEPARENT_LEN);
        traceparent.push_str("00-");
        traceparent.push_str(self.trace_id());
        traceparent.push('-');
        push_hex(&mut traceparent, u128::from(random_span_id()), 16);
        traceparent.push('-');
        traceparent.push_str(flags);
        Self { traceparent, tracestate: self.tracestate.clone() }
    }
}

// Never zero: W3C forbids all-zero ids. A zero draw (one in 2^64 or 2^128)
// becomes 1 instead of drawing from the range `1..`, which costs a wide
// multiplication per id; every request makes a trace context.
fn random_trace_id() -> u128 {
    fastrand::u128(..).max(1)
}

fn random_span_id() -> u64 {
    fastrand::u64(..).max(1)
}

const TRACEPARENT_LEN: usize = 55;

/// `00-<trace id>-<span id>-<flags>`, the ids as zero-padded lower-case hex.
fn traceparent(trace_id: u128, span_id: u64, flags: &str) -> String {
    let mut out = String::with_capacity(TRACEPARENT_LEN);
    out.push_str("00-");
    push_hex(&mut out, trace_id, 32);
    out.push('-');
    push_hex(&mut out, u128::from(span_id), 16);
    out.push('-');
    out.push_str(flags);
    out
}

// By hand rather than with `format!("{:032x}")`, and into a byte buffer
// rather than a char at a time: every request makes a trace context, and
// both showed in its profile.
fn push_hex(out: &mut String, value: u128, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 32];
    let digits = digits.min(32) as usize;
    for (i, b) in buf[..digits].iter_mut().enumerate() {
        *b = HEX[((value >> ((digits - 1 - i) * 4)) & 0xf) as usize];
    }
    // Hex digits are ASCII, so this never falls back.
    out.push_str(std::str::from_utf8(&buf[..digits]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparents_are_zero_padded_lower_case_hex() {
        assert_eq!(super::traceparent(0xab, 0x1F, "01"), "00-000000000000000000000000000000ab-000000000000001f-01");
        let max = super::traceparent(u128::MAX, u64::MAX, "00");
        assert_eq!(max, format!("00-{}-{}-00", "f".repeat(32), "f".repeat(16)));
        assert_eq!(max.len(), super::TRACEPARENT_LEN);
    }

    #[test]
    fn the_trace_id_range_points_at_the_trace_id_whatever_the_shape() {
        let root = TraceContext::root();
        assert_eq!(root.trace_id_range(), 3..35);
        assert_eq!(&root.traceparent[root.trace_id_range()], root.trace_id());
        // Shapes only made by hand (parse refuses them): the second field, or nothing.
        for (traceparent, id) in [("01-abc-def-00", "abc"), ("00-", ""), ("nodash", "")] {
            let t = TraceContext { traceparent: traceparent.into(), tracestate: None };
            assert_eq!(&traceparent[t.trace_id_range()], id, "{traceparent}");
            assert_eq!(t.trace_id(), id, "{traceparent}");
        }
    }

    #[test]
    fn roots_and_children_are_valid_w3c_contexts_of_one_trace() {
        let root = TraceContext::root();
        assert_eq!(TraceContext::parse(&root.traceparent, None), Some(root.clone()), "{}", root.traceparent);
        let child = root.child();
        assert!(TraceContext::parse(&child.traceparent, None).is_some());
        assert_eq!(child.trace_id(), root.trace_id());
        assert_ne!(child.span_id(), root.span_id());
        assert_ne!(TraceContext::root().trace_id(), root.trace_id());
        let unsampled =
            TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", Some("k=v")).unwrap();
        let c = unsampled.child();
        assert!(c.traceparent.ends_with("-00") && c.tracestate.as_deref() == Some("k=v"));
    }

    #[test]
    fn ids_are_read_from_any_traceparent_the_struct_holds() {
        let tp = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None).unwrap();
        assert_eq!((tp.trace_id(), tp.span_id()), ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"));
        // The field is public: a hand-made value of another shape still yields its parts.
        let odd = TraceContext { traceparent: "01-abc-def-01-extra".into(), tracestate: None };
        assert_eq!((odd.trace_id(), odd.span_id()), ("abc", "def"));
        let empty = TraceContext { traceparent: String::new(), tracestate: None };
        assert_eq!((empty.trace_id(), empty.span_id()), ("", ""));
    }

    #[test]
    fn traceparent_must_be_well_formed() {
        assert!(TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None).is_some());
        for bad in [
            "",
            "garbage",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        ] {
            assert!(TraceContext::parse(bad, None).is_none(), "case: {bad:?}");
        }
    }
}
