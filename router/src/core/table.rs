//! Reading the routing tables: the error every table fault is, and the one way the core gets
//! a table's text ([`TableSource`]), so that the core itself opens no file. The process layer
//! hands it the real files (`process::tables::Files`); tests hand it text in memory.

use std::path::{Path, PathBuf};

/// Why a table could not be loaded: the file, the line, what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct TableError {
    pub path: PathBuf,
    /// 1-based; 0 when the fault is the file as a whole.
    pub line: usize,
    pub message: String,
}

/// Where a table's text comes from.
pub trait TableSource {
    /// The text of the table at `path`, at most `max_bytes` bytes (more is a [`TableError`]).
    fn read(&self, path: &Path, max_bytes: u64) -> Result<String, TableError>;
    /// An `:include:` file: often kept by a list owner, not the administrator, so a real
    /// source also refuses a symlink there (the owner could point it at any file the router
    /// may read). The default is [`read`](Self::read).
    fn read_include(&self, path: &Path, max_bytes: u64) -> Result<String, TableError> {
        self.read(path, max_bytes)
    }
}

/// Tables in memory, by path (for tests and for tables built by a program).
#[derive(Debug, Default, Clone)]
pub struct InMemory(pub std::collections::HashMap<PathBuf, String>);

impl InMemory {
    pub fn with(mut self, path: &str, text: &str) -> InMemory {
        self.0.insert(path.into(), text.into());
        self
    }
}

impl TableSource for InMemory {
    fn read(&self, path: &Path, max_bytes: u64) -> Result<String, TableError> {
        let err = |message: String| TableError {
            path: path.into(),
            line: 0,
            message,
        };
        let text = self
            .0
            .get(path)
            .ok_or_else(|| err("no such table".into()))?;
        if text.len() as u64 > max_bytes {
            return Err(err(format!("over the cap of {max_bytes} bytes")));
        }
        Ok(text.clone())
    }
}
