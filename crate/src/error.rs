//! One error type for the whole data path. Every variant prints as one plain sentence,
//! because the CLI writes it to stderr as-is and the page shows it to a visitor.

use std::fmt;

#[derive(Debug)]
pub enum ClipError {
    /// A file could not be read (missing, unreadable).
    Io { path: String, message: String },
    /// A model directory or bundle is incomplete or inconsistent.
    Model(String),
    /// A tensor in a checkpoint is missing or has the wrong shape.
    Weights(String),
    /// The image bytes could not be turned into pixels.
    Image(String),
    /// The tokenizer file or a text could not be tokenized.
    Tokenizer(String),
    /// The caller asked for something that cannot be done (no labels, empty image list, ...).
    Input(String),
    /// The compute backend failed (device lost, read-back failed, ...).
    Backend(String),
}

impl fmt::Display for ClipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            ClipError::Io { path, message } => format!("cannot read {path}: {message}"),
            ClipError::Model(m)
            | ClipError::Weights(m)
            | ClipError::Image(m)
            | ClipError::Tokenizer(m)
            | ClipError::Input(m)
            | ClipError::Backend(m) => m.clone(),
        };
        // One line, always: messages from dependencies sometimes carry newlines.
        let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        f.write_str(&one_line)
    }
}

impl std::error::Error for ClipError {}

pub type Result<T> = std::result::Result<T, ClipError>;

impl ClipError {
    pub fn io(path: impl AsRef<std::path::Path>, err: std::io::Error) -> Self {
        let message = match err.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
            _ => err.to_string(),
        };
        ClipError::Io { path: path.as_ref().display().to_string(), message }
    }
}
