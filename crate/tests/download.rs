//! build.sh's model downloads against a local server laid out exactly as the Hugging Face
//! repositories publish their files (models/published.json: those files at those commits and
//! nothing else, everything else a 404), with locally generated contents and a test catalogue
//! whose hashes match them: every catalogue model is fetched (weights cut off halfway and
//! resumed) and converted, and with CLIP_TEST_PAGE=1 (tests/run.sh) one page is built offering
//! all of them (`build.sh --model A --model B ...`).
//! Also: the real catalogue asks only for published files, and checksum, size, 404 and
//! no-server failures each end in one line.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use clip::bundle::sha256_hex;
use common::*;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Published {
    files: Vec<PublishedFile>,
}

#[derive(Deserialize, Clone)]
struct PublishedFile {
    repo: String,
    revision: String,
    file: String,
    sha256: String,
    bytes: u64,
}

#[derive(Deserialize, Serialize, Clone)]
struct Catalogue {
    models: Vec<CatalogueModel>,
}

#[derive(Deserialize, Serialize, Clone)]
struct CatalogueModel {
    name: String,
    repo: String,
    revision: String,
    activation: String,
    files: Vec<CatalogueFile>,
}

#[derive(Deserialize, Serialize, Clone)]
struct CatalogueFile {
    file: String,
    revision: String,
    sha256: String,
    bytes: u64,
}

fn read_json<T: for<'a> Deserialize<'a>>(path: &Path) -> T {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn real_catalogue() -> Catalogue {
    read_json(&repo_root().join("models/catalogue.json"))
}

fn published() -> Published {
    read_json(&repo_root().join("models/published.json"))
}

const WEIGHTS: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];

/// Every file the catalogue pins must be published at that commit with that sha256 and size,
/// every revision a commit hash, and each model needs a config, a tokenizer and one weights file.
fn check_catalogue(catalogue: &Catalogue, published: &Published) -> Result<(), String> {
    let is_commit = |r: &str| r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    for model in &catalogue.models {
        if !is_commit(&model.revision) {
            return Err(format!("{}: revision {:?} is not a commit hash", model.name, model.revision));
        }
        for f in &model.files {
            if !is_commit(&f.revision) {
                return Err(format!("{}: {} at {:?}, which is not a commit hash", model.name, f.file, f.revision));
            }
            let listed = published.files.iter().find(|p| p.repo == model.repo && p.revision == f.revision && p.file == f.file);
            match listed {
                None => return Err(format!("{}: {} is not published at {}", model.name, f.file, f.revision)),
                Some(p) if p.sha256 != f.sha256 || p.bytes != f.bytes => {
                    return Err(format!("{}: {} differs from the published sha256 or size", model.name, f.file));
                }
                Some(_) => {}
            }
        }
        let has = |name: &str| model.files.iter().filter(|f| f.file == name).count();
        let weights: usize = WEIGHTS.iter().map(|w| has(w)).sum();
        if has("config.json") != 1 || has("tokenizer.json") != 1 || weights != 1 {
            return Err(format!("{}: needs one config.json, one tokenizer.json and one weights file", model.name));
        }
    }
    Ok(())
}

#[test]
fn the_catalogue_asks_only_for_files_published_at_their_commits() {
    let (catalogue, published) = (real_catalogue(), published());
    check_catalogue(&catalogue, &published).unwrap();
    assert_eq!(catalogue.models.len(), 4);

    // What the catalogue used to ask for: B/32's model.safetensors at its main commit, which
    // has only pytorch_model.bin.
    let mut old = catalogue.clone();
    let b32 = old.models.iter_mut().find(|m| m.name == "clip-vit-base-patch32").unwrap();
    let weights = b32.files.iter_mut().find(|f| f.file == "model.safetensors").unwrap();
    weights.revision = b32.revision.clone();
    let err = check_catalogue(&old, &published).unwrap_err();
    assert!(err.contains("model.safetensors is not published at 3d74acf9"), "{err}");

    let mut moving = catalogue.clone();
    moving.models[1].revision = "main".into();
    assert!(check_catalogue(&moving, &published).unwrap_err().contains("not a commit hash"));
}

/// Locally generated contents for a published file: the tiny fixtures, with the activation of
/// the catalogue model they stand in for.
fn local_contents(file: &str, activation: &str) -> Vec<u8> {
    let dir = if activation == "gelu" { fixture("tiny-gelu") } else { fixture("tiny-quickgelu") };
    let path = match file {
        "pytorch_model.bin" => fixture("tiny-quickgelu-bin").join(file),
        "tokenizer.json" => repo_root().join("models/tokenizer/tokenizer.json"),
        _ => dir.join(file),
    };
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The published layout with local contents, and a catalogue pinning those contents.
fn local_hub() -> (BTreeMap<String, Vec<u8>>, Catalogue) {
    let mut catalogue = real_catalogue();
    let activation_of = |repo: &str| {
        catalogue.models.iter().find(|m| m.repo == repo).map(|m| m.activation.clone()).unwrap_or_default()
    };
    let layout: BTreeMap<String, Vec<u8>> = published()
        .files
        .iter()
        .map(|p| (format!("/{}/resolve/{}/{}", p.repo, p.revision, p.file), local_contents(&p.file, &activation_of(&p.repo))))
        .collect();
    for model in &mut catalogue.models {
        for f in &mut model.files {
            let body = &layout[&format!("/{}/resolve/{}/{}", model.repo, f.revision, f.file)];
            f.sha256 = sha256_hex(body);
            f.bytes = body.len() as u64;
        }
    }
    (layout, catalogue)
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Request {
    path: String,
    status: u16,
    ranged: bool,
}

/// Serves `layout` (URL path → body) as the Hub's resolve endpoint would: any other path is a
/// 404. The first GET of each weights file breaks off after half its body. Honours
/// `Range: bytes=N-`.
fn serve(layout: BTreeMap<String, Vec<u8>>) -> (u16, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = handle(stream, &layout, &seen);
        }
    });
    (port, log)
}

fn handle(mut stream: TcpStream, layout: &BTreeMap<String, Vec<u8>>, log: &Mutex<Vec<Request>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut start = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some(range) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
            start = range.trim().trim_end_matches('-').parse::<usize>().ok();
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    let record = |status| log.lock().unwrap().push(Request { path: path.clone(), status, ranged: start.is_some() });
    let Some(body) = layout.get(&path) else {
        record(404);
        return stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 15\r\nConnection: close\r\n\r\nEntry not found");
    };
    let first_fetch = !log.lock().unwrap().iter().any(|r| r.path == path);
    let from = start.unwrap_or(0).min(body.len());
    let rest = &body[from..];
    let head = if start.is_some() {
        record(206);
        format!("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {from}-{}/{}\r\n", body.len() - 1, body.len())
    } else {
        record(200);
        "HTTP/1.1 200 OK\r\n".to_string()
    };
    write!(stream, "{head}Content-Length: {}\r\nConnection: close\r\n\r\n", rest.len())?;
    if first_fetch && WEIGHTS.iter().any(|w| path.ends_with(w)) {
        stream.write_all(&rest[..rest.len() / 2])?;
        return stream.shutdown(std::net::Shutdown::Both); // the transfer breaks off
    }
    stream.write_all(rest)
}

fn build_sh(port: u16, catalogue: &Path, cache: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("bash")
        .arg(repo_root().join("build.sh"))
        .args(args)
        .env("CLIP_HF_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("CLIP_CATALOGUE", catalogue)
        .env("CLIP_CACHE_DIR", cache)
        // The CLI these tests were built with: build.sh would otherwise build its own (CPU only).
        .env("CLIP_BIN", clip_bin())
        .output()
        .expect("run build.sh");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn write_catalogue(path: &Path, catalogue: &Catalogue) {
    std::fs::write(path, serde_json::to_vec_pretty(catalogue).unwrap()).unwrap();
}

#[test]
fn build_sh_fetches_and_converts_every_catalogue_model_as_published() {
    let (layout, catalogue) = local_hub();
    let (port, log) = serve(layout.clone());
    let tmp = tempfile::tempdir().unwrap();
    let catalogue_path = tmp.path().join("catalogue.json");
    write_catalogue(&catalogue_path, &catalogue);
    let cache = tmp.path().join("cache");
    let page = std::env::var("CLIP_TEST_PAGE").as_deref() == Ok("1");

    let bundles = tmp.path().join("bundles");
    for model in &catalogue.models {
        // The classifiers wait for the page's build below, which converts every model again.
        let mut args = vec!["--model", model.name.as_str(), "--bundle-dir", bundles.to_str().unwrap(), "--no-web"];
        if page {
            args.extend(["--classifiers", "none"]);
        }
        let (ok, _, stderr) = build_sh(port, &catalogue_path, &cache, &args);
        assert!(ok, "build.sh --model {} failed: {stderr}", model.name);
        let total: u64 = model.files.iter().map(|f| f.bytes).sum();
        assert!(stderr.contains(&format!("4 of 4 files to download, {:.1} MB", total as f64 / 1e6)), "{stderr}");

        // Every file came from its pinned commit; the weights broke off once and were resumed.
        let requests: Vec<Request> = log.lock().unwrap().iter().filter(|r| r.path.contains(&model.repo)).cloned().collect();
        assert!(requests.iter().all(|r| r.status != 404), "{}: asked for unpublished files: {requests:?}", model.name);
        for f in &model.files {
            let path = format!("/{}/resolve/{}/{}", model.repo, f.revision, f.file);
            let tries: Vec<bool> = requests.iter().filter(|r| r.path == path).map(|r| r.ranged).collect();
            let expected = if WEIGHTS.contains(&f.file.as_str()) { vec![false, true] } else { vec![false] };
            assert_eq!(tries, expected, "{}: requests for {path}", model.name);
        }
        eprintln!("{}: fetched {}", model.name, model.files.iter().map(|f| format!("{}@{}", f.file, &f.revision[..8])).collect::<Vec<_>>().join(", "));

        let dir = cache.join("hf").join(&model.repo).join(&model.revision);
        for f in &model.files {
            assert_eq!(std::fs::read(dir.join(&f.file)).unwrap(), layout[&format!("/{}/resolve/{}/{}", model.repo, f.revision, f.file)]);
        }
        let bundle = bundles.join(format!("{}-q8", model.name));
        let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["source"]["repo"], model.repo.as_str());
        assert_eq!(manifest["source"]["revision"], model.revision.as_str());

        // A second run finds everything cached and downloads nothing.
        let before = log.lock().unwrap().len();
        let (ok, stdout, stderr) = build_sh(port, &catalogue_path, &cache, &["--model", &model.name, "--download-only"]);
        assert!(ok && stderr.contains("0 of 4 files to download") && stderr.matches(": cached").count() == 4, "{stderr}");
        assert_eq!(log.lock().unwrap().len(), before);
        assert_eq!(PathBuf::from(stdout.trim()), dir);
    }

    // One page offering every model, the first as its default, each bundle once.
    if page {
        let site = tmp.path().join("site");
        let mut args: Vec<&str> = catalogue.models.iter().flat_map(|m| ["--model", m.name.as_str()]).collect();
        args.extend(["--bundle-dir", bundles.to_str().unwrap(), "--out", site.to_str().unwrap()]);
        let before = log.lock().unwrap().len();
        let (ok, _, stderr) = build_sh(port, &catalogue_path, &cache, &args);
        assert!(ok, "build.sh with every model failed: {stderr}");
        eprintln!("{stderr}");
        assert_eq!(log.lock().unwrap().len(), before, "everything was cached");
        assert!(site.join("index.html").is_file() && site.join("pkg/clip_bg.wasm").is_file());
        let index: serde_json::Value = serde_json::from_slice(&std::fs::read(site.join("models/index.json")).unwrap()).unwrap();
        let listed: Vec<&str> = index["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
        let names: Vec<String> = catalogue.models.iter().map(|m| format!("{}-q8", m.name)).collect();
        assert_eq!(listed, names);
        for (entry, name) in index["models"].as_array().unwrap().iter().zip(&names) {
            let manifest = std::fs::read(bundles.join(name).join("manifest.json")).unwrap();
            assert_eq!(std::fs::read(site.join("models").join(name).join("manifest.json")).unwrap(), manifest);
            let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
            let bytes: u64 = manifest["files"].as_object().unwrap().values().map(|f| f["bytes"].as_u64().unwrap()).sum();
            assert_eq!(entry["bytes"], bytes, "{name}");
            assert_eq!(entry["repo"], manifest["source"]["repo"], "{name}");
        }
    }
}

/// Runs build.sh --download-only for the first catalogue model and returns its last stderr line.
fn download_fails(port: u16, catalogue: &Catalogue, tmp: &Path, name: &str) -> String {
    let path = tmp.join(format!("{name}.json"));
    write_catalogue(&path, catalogue);
    let cache = tmp.join(format!("cache-{name}"));
    let (ok, _, stderr) = build_sh(port, &path, &cache, &["--download-only", "--model", &catalogue.models[0].name]);
    assert!(!ok, "{name}: build.sh should fail: {stderr}");
    let leftovers: Vec<PathBuf> = walk(&cache).into_iter().filter(|p| p.extension().is_some_and(|e| e == "part")).collect();
    assert!(leftovers.is_empty(), "{name}: a failed file was kept: {leftovers:?}");
    stderr.trim().lines().last().unwrap_or("").to_string()
}

/// The first model's entry for `name`.
fn pinned<'a>(catalogue: &'a mut Catalogue, name: &str) -> &'a mut CatalogueFile {
    catalogue.models[0].files.iter_mut().find(|f| f.file == name).expect("file in the catalogue")
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flatten().flat_map(|e| if e.path().is_dir() { walk(&e.path()) } else { vec![e.path()] }).collect()
}

#[test]
fn checksum_size_404_and_no_server_failures_are_one_line() {
    let (layout, catalogue) = local_hub();
    let (port, _) = serve(layout);
    let tmp = tempfile::tempdir().unwrap();
    let b32 = || {
        let mut c = catalogue.clone();
        c.models.retain(|m| m.name == "clip-vit-base-patch32");
        c
    };

    let mut c = b32();
    pinned(&mut c, "config.json").sha256 = "0".repeat(64);
    let last = download_fails(port, &c, tmp.path(), "checksum");
    assert!(last.contains("openai/clip-vit-base-patch32/config.json failed its checksum") && last.contains("deleted"), "{last}");

    let mut c = b32();
    pinned(&mut c, "tokenizer.json").bytes += 1;
    let last = download_fails(port, &c, tmp.path(), "size");
    assert!(last.contains("tokenizer.json is") && last.contains("bytes, but the catalogue pins"), "{last}");

    // The bug this layout reproduces: B/32's model.safetensors at its main commit is a 404.
    let mut c = b32();
    let revision = c.models[0].revision.clone();
    pinned(&mut c, "model.safetensors").revision = revision;
    let last = download_fails(port, &c, tmp.path(), "unpublished");
    assert!(last.contains("could not download openai/clip-vit-base-patch32/model.safetensors") && last.contains("404"), "{last}");
    assert!(last.contains("--from"), "{last}");

    let mut c = b32();
    c.models[0].files[0].revision = "main".into();
    let last = download_fails(port, &c, tmp.path(), "unpinned");
    assert!(last.contains("is not pinned"), "{last}");

    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let last = download_fails(closed, &b32(), tmp.path(), "no-server");
    assert!(last.contains("could not download openai/clip-vit-base-patch32/config.json") && last.contains("--from"), "{last}");
}
