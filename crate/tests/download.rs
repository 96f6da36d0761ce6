//! build.sh's model download against a local HTTP server: a normal fetch, a transfer that is
//! cut off halfway and resumed with a Range request, a checksum mismatch, and no server at all.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use clip::bundle::sha256_hex;
use common::*;

const FILES: [&str; 4] = ["config.json", "preprocessor_config.json", "tokenizer.json", "model.safetensors"];

/// Serves `dir` at /<repo>/resolve/<revision>/<file>; the first GET of model.safetensors is cut
/// off after half its body. Honours `Range: bytes=N-`. The counter adds 1 per plain GET of
/// model.safetensors and 10 per ranged one.
fn serve(dir: PathBuf) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let cut = Arc::new(AtomicUsize::new(0));
    let cuts = cut.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = handle(stream, &dir, &cuts);
        }
    });
    (port, cut)
}

fn handle(mut stream: TcpStream, dir: &Path, cuts: &AtomicUsize) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut start = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some(range) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
            start = range.trim().trim_end_matches('-').parse().unwrap_or(0);
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let file = path.rsplit('/').next().unwrap_or("");
    let Ok(body) = std::fs::read(dir.join(file)) else {
        return stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    };
    let rest = &body[start.min(body.len())..];
    let range = if start > 0 {
        format!("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{}\r\n", body.len() - 1, body.len())
    } else {
        "HTTP/1.1 200 OK\r\n".to_string()
    };
    write!(stream, "{range}Content-Length: {}\r\nConnection: close\r\n\r\n", rest.len())?;
    if file == "model.safetensors" && cuts.fetch_add(if start > 0 { 10 } else { 1 }, Ordering::SeqCst) == 0 {
        stream.write_all(&rest[..rest.len() / 2])?;
        return stream.shutdown(std::net::Shutdown::Both); // the transfer breaks off
    }
    stream.write_all(rest)
}

fn catalogue(path: &Path, source: &Path, corrupt: Option<&str>) {
    let files: serde_json::Map<String, serde_json::Value> = FILES
        .iter()
        .map(|f| {
            let mut sha = sha256_hex(&std::fs::read(source.join(f)).unwrap());
            if corrupt == Some(*f) {
                sha = "0".repeat(64);
            }
            (f.to_string(), serde_json::Value::String(sha))
        })
        .collect();
    let json = serde_json::json!({ "models": [{ "name": "tiny", "repo": "test/tiny-clip", "revision": "0123abc", "files": files }] });
    std::fs::write(path, json.to_string()).unwrap();
}

fn build_sh(port: u16, catalogue: &Path, cache: &Path) -> (bool, String, String) {
    let out = Command::new("bash")
        .arg(repo_root().join("build.sh"))
        .args(["--download-only", "--model", "tiny"])
        .env("CLIP_HF_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("CLIP_CATALOGUE", catalogue)
        .env("CLIP_CACHE_DIR", cache)
        .output()
        .expect("run build.sh");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn downloads_resume_after_an_interrupted_transfer_and_verify_checksums() {
    let source = fixture("tiny-quickgelu");
    let tmp = tempfile::tempdir().unwrap();
    let (port, cuts) = serve(source.clone());
    catalogue(&tmp.path().join("catalogue.json"), &source, None);
    let (ok, stdout, stderr) = build_sh(port, &tmp.path().join("catalogue.json"), &tmp.path().join("cache"));
    assert!(ok, "build.sh failed: {stderr}");
    // One request from the start (cut off), then one resuming with a Range header.
    assert_eq!(cuts.load(Ordering::SeqCst), 11, "the cut-off transfer was not resumed with a Range request");
    assert!(stderr.contains("resuming"), "{stderr}");
    let dir = PathBuf::from(stdout.trim().lines().last().unwrap());
    assert_eq!(dir, tmp.path().join("cache/hf/test/tiny-clip/0123abc"));
    for f in FILES {
        assert_eq!(std::fs::read(dir.join(f)).unwrap(), std::fs::read(source.join(f)).unwrap(), "{f}");
    }
    let recorded: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("source.json")).unwrap()).unwrap();
    assert_eq!(recorded["repo"], "test/tiny-clip");

    // A second run finds everything cached.
    let (ok, _, stderr) = build_sh(port, &tmp.path().join("catalogue.json"), &tmp.path().join("cache"));
    assert!(ok && stderr.matches("cached").count() == FILES.len(), "{stderr}");
}

#[test]
fn a_checksum_mismatch_or_no_server_fails_in_one_line() {
    let source = fixture("tiny-quickgelu");
    let tmp = tempfile::tempdir().unwrap();
    let (port, _) = serve(source.clone());
    catalogue(&tmp.path().join("bad.json"), &source, Some("config.json"));
    let (ok, _, stderr) = build_sh(port, &tmp.path().join("bad.json"), &tmp.path().join("cache"));
    assert!(!ok);
    let last = stderr.trim().lines().last().unwrap();
    assert!(last.contains("config.json failed its checksum"), "{stderr}");
    assert!(!tmp.path().join("cache/hf/test/tiny-clip/0123abc/config.json.part").exists());

    // Nothing listens on this port any more.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (ok, _, stderr) = build_sh(closed, &tmp.path().join("bad.json"), &tmp.path().join("cache2"));
    assert!(!ok);
    let last = stderr.trim().lines().last().unwrap();
    assert!(last.contains("could not download test/tiny-clip/config.json") && last.contains("--from"), "{stderr}");
}
