//! The page's shareable state — labels, templates, preset, temperature, the A/B template sets
//! and the probe's C, never images — as a URL fragment, and back.
//!
//! A link is outside data: anyone can craft one. Parsing is strict and bounded (size, counts,
//! lengths, encoding, no control characters) and all-or-nothing, so the page either restores a
//! state that passed every check or shows its defaults with one sentence saying why. Values are
//! only ever text to the page; nothing here is markup.
//!
//! Format: `application/x-www-form-urlencoded` keys, in a fragment so it never reaches a server:
//! `v=1`, `p` preset, `l` label (repeated, in order), `t` template that is on / `u` one that is
//! off (repeated, in order), `tau`, `a`/`b` the A/B sets, `c` the probe's C.

use serde::{Deserialize, Serialize};

use crate::error::{ClipError, Result};

/// Longest fragment accepted: ample for hand-made label sets; whole datasets go by preset name.
pub const MAX_STATE_CHARS: usize = 16 * 1024;
pub const MAX_LABELS: usize = 256;
pub const MAX_TEMPLATES: usize = 128;
pub const MAX_TEXT_CHARS: usize = 300;
const VERSION: &str = "1";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageState {
    /// A preset's name (checked against the shipped presets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Labels in order (absent: the preset's or the page's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Templates in order, each switched on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<Vec<Template>>,
    /// The softmax scale τ (absent: the model's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// The A/B test's two template sets, by the page's key for each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab: Option<[String; 2]>,
    /// The few-shot probe's C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub text: String,
    pub on: bool,
}

impl PageState {
    /// Parse a fragment (with or without its leading `#`). An empty one is the default state.
    pub fn parse(fragment: &str) -> Result<PageState> {
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        if fragment.chars().count() > MAX_STATE_CHARS {
            return Err(bad(format!("it is longer than {MAX_STATE_CHARS} characters")));
        }
        let mut state = PageState::default();
        let mut version_seen = false;
        for pair in fragment.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(key)?;
            let value = decode(value)?;
            match key.as_str() {
                "v" => {
                    if value != VERSION {
                        return Err(bad(format!("it is of version {}, this page reads version {VERSION}", shorten(&value))));
                    }
                    version_seen = true;
                }
                "p" => {
                    let name = identifier(&value, "preset")?;
                    if crate::presets::find(&name).is_err() {
                        return Err(bad(format!("there is no preset {:?}", shorten(&name))));
                    }
                    state.preset = Some(once(state.preset.is_some(), "p", name)?);
                }
                "l" => {
                    let labels = state.labels.get_or_insert_with(Vec::new);
                    labels.push(text(&value, "label")?);
                    if labels.len() > MAX_LABELS {
                        return Err(bad(format!("it has more than {MAX_LABELS} labels")));
                    }
                }
                "t" | "u" => {
                    let templates = state.templates.get_or_insert_with(Vec::new);
                    templates.push(Template { text: text(&value, "template")?, on: key == "t" });
                    if templates.len() > MAX_TEMPLATES {
                        return Err(bad(format!("it has more than {MAX_TEMPLATES} templates")));
                    }
                }
                "tau" => state.scale = Some(once(state.scale.is_some(), "tau", number(&value, "τ", 0.01, 10_000.0)?)?),
                "a" | "b" => {
                    let ab = state.ab.get_or_insert_with(Default::default);
                    let slot = &mut ab[usize::from(key == "b")];
                    if !slot.is_empty() {
                        return Err(bad(format!("it names {key} twice")));
                    }
                    *slot = identifier(&value, "A/B set")?;
                }
                "c" => state.c = Some(once(state.c.is_some(), "c", number(&value, "C", 1e-6, 1e6)?)?),
                other => return Err(bad(format!("it has an unknown setting {:?}", shorten(other)))),
            }
        }
        if let Some(ab) = &state.ab
            && ab.iter().any(String::is_empty)
        {
            return Err(bad("it names only one of the two A/B sets".into()));
        }
        if !version_seen && state != PageState::default() {
            return Err(bad("it has no version (v=1)".into()));
        }
        Ok(state)
    }

    /// The fragment for this state (without `#`); `parse` gives the same state back.
    pub fn encode(&self) -> String {
        let mut pairs = vec![("v", VERSION.to_string())];
        if let Some(p) = &self.preset {
            pairs.push(("p", p.clone()));
        }
        for label in self.labels.iter().flatten() {
            pairs.push(("l", label.clone()));
        }
        for template in self.templates.iter().flatten() {
            pairs.push((if template.on { "t" } else { "u" }, template.text.clone()));
        }
        if let Some(scale) = self.scale {
            pairs.push(("tau", scale.to_string()));
        }
        if let Some([a, b]) = &self.ab {
            pairs.push(("a", a.clone()));
            pairs.push(("b", b.clone()));
        }
        if let Some(c) = self.c {
            pairs.push(("c", c.to_string()));
        }
        pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&")
    }
}

fn bad(why: String) -> ClipError {
    ClipError::Input(format!("the link's settings cannot be used: {why}"))
}

fn once<T>(seen: bool, key: &str, value: T) -> Result<T> {
    if seen { Err(bad(format!("it gives {key} twice"))) } else { Ok(value) }
}

/// Quote a hostile value in a message without repeating all of it.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

fn text(value: &str, what: &str) -> Result<String> {
    if value.trim().is_empty() {
        return Err(bad(format!("a {what} is empty")));
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(bad(format!("a {what} is longer than {MAX_TEXT_CHARS} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(bad(format!("a {what} contains control characters")));
    }
    Ok(value.to_string())
}

fn identifier(value: &str, what: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 40
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok { Ok(value.to_string()) } else { Err(bad(format!("the {what} {:?} is not a name", shorten(value)))) }
}

fn number(value: &str, what: &str, min: f64, max: f64) -> Result<f64> {
    match value.parse::<f64>() {
        Ok(n) if n.is_finite() && (min..=max).contains(&n) => Ok(n),
        _ => Err(bad(format!("{what} must be a number from {min} to {max}, not {:?}", shorten(value)))),
    }
}

/// Form decoding: `+` is a space, `%XX` a byte; the bytes must be UTF-8.
fn decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or_else(|| bad("it has a broken %-escape".into()))?;
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad("its text is not valid UTF-8".into()))
}

/// Percent-encode all but RFC 3986's unreserved characters (so `&`, `=`, `+`, `#` stay data).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PageState {
        PageState {
            preset: Some("food101".into()),
            labels: Some(vec!["cat".into(), "happy | smiling".into(), "a&b=c+d #1 100%".into(), "<script>alert(1)</script>".into(), "café ☕".into()]),
            templates: Some(vec![
                Template { text: "a photo of a {}.".into(), on: true },
                Template { text: "a photo of {}, a type of food.".into(), on: false },
            ]),
            scale: Some(12.5),
            ab: Some(["bare".into(), "imagenet-7".into()]),
            c: Some(0.25),
        }
    }

    #[test]
    fn round_trips() {
        let state = sample();
        let fragment = state.encode();
        assert!(!fragment.contains(' ') && !fragment.contains('<') && !fragment.contains('#'), "{fragment}");
        assert_eq!(PageState::parse(&fragment).unwrap(), state);
        assert_eq!(PageState::parse(&format!("#{fragment}")).unwrap(), state);
        assert_eq!(PageState::parse("").unwrap(), PageState::default());
        assert_eq!(PageState::parse("#").unwrap(), PageState::default());
        // Hand-typed forms decode too.
        let typed = PageState::parse("v=1&l=tabby+cat&l=dog%E2%80%99s&t=a+photo+of+a+%7B%7D.").unwrap();
        assert_eq!(typed.labels.unwrap(), ["tabby cat", "dog’s"]);
    }

    #[test]
    fn refuses_hostile_or_broken_links_whole() {
        let cases = [
            ("v=1&l=%ZZ", "broken %-escape"),
            ("v=1&l=%E2%80", "not valid UTF-8"),
            ("v=1&l=%FF", "not valid UTF-8"),
            ("v=1&l=a%00b", "control characters"),
            ("v=1&l=line%0Abreak", "control characters"),
            ("v=1&l=", "empty"),
            ("v=2&l=cat", "version 2"),
            ("l=cat", "no version"),
            ("v=1&x=1", "unknown setting"),
            ("v=1&tau=NaN", "τ must be a number"),
            ("v=1&tau=1e400", "τ must be a number"),
            ("v=1&tau=-3", "τ must be a number"),
            ("v=1&c=0", "C must be"),
            ("v=1&p=../../etc", "not a name"),
            ("v=1&p=nosuchpreset", "no preset"),
            ("v=1&a=bare", "only one of the two"),
            ("v=1&a=bare&a=photo&b=x", "twice"),
            ("v=1&tau=1&tau=2", "twice"),
        ];
        for (fragment, expect) in cases {
            let err = PageState::parse(fragment).unwrap_err().to_string();
            assert!(err.contains(expect), "{fragment}: {err}");
            assert!(err.starts_with("the link's settings cannot be used"), "{err}");
        }
        let huge = format!("v=1&l={}", "a".repeat(100_000));
        assert!(PageState::parse(&huge).unwrap_err().to_string().contains("longer than"));
        let many = (0..300).map(|i| format!("l=x{i}")).collect::<Vec<_>>().join("&");
        assert!(PageState::parse(&format!("v=1&{many}")).unwrap_err().to_string().contains("more than 256 labels"));
        let long = format!("v=1&l={}", "b".repeat(301));
        assert!(PageState::parse(&long).unwrap_err().to_string().contains("longer than 300"));
    }

    #[test]
    fn messages_quote_hostile_values_briefly() {
        let err = PageState::parse(&format!("v=1&{}=1", "k".repeat(1000))).unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
    }
}
