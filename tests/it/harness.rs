//! The shared test harness: a temp HOME and config dir per test, a cleared environment, the real
//! `keyward` binary, a real `keyward server` on 127.0.0.1:0, and raw HTTP for what the CLI hides.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::Once;
use std::time::Duration;

use assert_cmd::Command;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_keyward");

/// Each test thread gets its own anonymous session keyring, as `keyctl session -` would give a
/// shell, so the kernel keyring (keyutils) works for real and tests never see each other's
/// entries. (A root shell's default session keyring refuses the links keyutils needs.) Keyrings
/// belong to a thread's credentials, and the processes it spawns inherit them.
pub fn join_fresh_session_keyring() {
    thread_local!(static JOINED: Once = const { Once::new() });
    JOINED.with(|joined| {
        joined.call_once(|| {
            const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
            // SAFETY: keyctl(JOIN_SESSION_KEYRING, NULL) takes no pointers but the null name.
            let id = unsafe {
                libc::syscall(
                    libc::SYS_keyctl,
                    KEYCTL_JOIN_SESSION_KEYRING,
                    std::ptr::null::<libc::c_char>(),
                )
            };
            assert!(
                id >= 0,
                "cannot join a new session keyring: {}",
                std::io::Error::last_os_error()
            );
        })
    });
}

/// A user's machine in miniature: HOME, config and data directories in a temp dir.
pub struct TestEnv {
    pub dir: TempDir,
    vars: BTreeMap<String, String>,
}

impl TestEnv {
    pub fn new() -> Self {
        join_fresh_session_keyring();
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut vars = BTreeMap::new();
        vars.insert("HOME".into(), home.display().to_string());
        vars.insert(
            "XDG_CONFIG_HOME".into(),
            dir.path().join("config").display().to_string(),
        );
        vars.insert(
            "XDG_DATA_HOME".into(),
            dir.path().join("data").display().to_string(),
        );
        vars.insert("PATH".into(), std::env::var("PATH").unwrap_or_default());
        vars.insert("USER".into(), "tester".into());
        vars.insert("KEYWARD_KEYRING".into(), "keyutils".into());
        vars.insert("COLUMNS".into(), "80".into());
        // Times for people are shown in the local zone: the tests' zone is fixed.
        vars.insert("TZ".into(), "UTC".into());
        TestEnv { dir, vars }
    }

    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    pub fn unset(&mut self, key: &str) -> &mut Self {
        self.vars.remove(key);
        self
    }

    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// `keyward` with this environment and nothing else.
    pub fn keyward(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .envs(&self.vars)
            .timeout(Duration::from_secs(60));
        cmd
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config").join("keyward")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data").join("keyward")
    }

    /// Runs keyward with `args`, expects success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.keyward().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "keyward {args:?} failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs keyward with `args`, expects exit code `code`, returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.keyward().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "keyward {args:?}: stdout {}\nstderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// `keyward login` to `server` as `client_id`, the secret piped on stdin.
    pub fn login_output(
        &self,
        server: &Server,
        client_id: &str,
        secret: &str,
    ) -> std::process::Output {
        self.keyward()
            .args(["login", "--url", &server.url, "--client-id", client_id])
            .write_stdin(format!("{secret}\n"))
            .output()
            .unwrap()
    }

    /// Logs in as the dev super admin; panics unless it works.
    pub fn login_as_admin(&self, server: &Server) {
        let out = self.login_output(server, &server.admin_id, &server.admin_secret);
        assert!(
            out.status.success(),
            "login: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs keyward and parses its stdout as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }
}

/// The store backend this test binary runs every store test on (see `BACKEND` in its main.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl TestEnv {
    /// A new, empty database for this test on the run's backend; its URL. On SQLite, the file
    /// `name` in the test's directory; on PostgreSQL, a new database in the run's cluster.
    pub fn database(&self, name: &str) -> String {
        match crate::BACKEND {
            Backend::Sqlite => format!("sqlite:{}", self.dir.path().join(name).display()),
            Backend::Postgres => crate::pg::cluster().create_database(),
        }
    }
}

/// `--database URL --pepper-file PEPPER`, as `keyward server` takes them.
pub fn store_args(database: &str, pepper: &Path) -> Vec<String> {
    vec![
        "--database".to_owned(),
        database.to_owned(),
        "--pepper-file".to_owned(),
        pepper.display().to_string(),
    ]
}

/// The files where the database at `url` keeps its bytes, written out: a SQLite file's
/// directory, or (after a checkpoint) the whole PostgreSQL cluster's.
pub fn database_files(url: &str) -> PathBuf {
    match url.strip_prefix("sqlite:") {
        Some(path) => Path::new(path).parent().unwrap().to_owned(),
        None => crate::pg::cluster().checkpoint(),
    }
}

/// `keyward server --bootstrap` on the store `store` (from [`store_args`]): the first
/// super-admin key's id and secret.
pub fn bootstrap(env: &TestEnv, store: &[String]) -> (String, String) {
    let mut args = vec!["--output", "json", "server", "--bootstrap"];
    args.extend(store.iter().map(String::as_str));
    let admin: serde_json::Value = serde_json::from_str(&env.ok(&args)).unwrap();
    (
        admin["id"].as_str().unwrap().to_owned(),
        admin["secret"].as_str().unwrap().to_owned(),
    )
}

/// A real `keyward server` process on 127.0.0.1:0.
pub struct Server {
    child: Child,
    pub url: String,
    pub admin_id: String,
    pub admin_secret: String,
    pub log: PathBuf,
}

impl Server {
    /// `keyward server --dev`, logging at `log_level` to a file, on `database` (a URL) or a
    /// throwaway one: in memory on SQLite, a new database on PostgreSQL.
    pub fn dev(env: &TestEnv, database: Option<&str>, log_level: &str) -> Server {
        let mut args = vec![
            "server".to_owned(),
            "--dev".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ];
        let database = match (database, crate::BACKEND) {
            (Some(url), _) => Some(url.to_owned()),
            (None, Backend::Sqlite) => None,
            (None, Backend::Postgres) => Some(env.database("dev")),
        };
        if let Some(url) = database {
            args.push("--database".into());
            args.push(url);
        }
        Self::spawn(env, &args, log_level, true)
    }

    /// `keyward server` with the given extra arguments (not --dev).
    pub fn start(env: &TestEnv, extra: &[&str]) -> Server {
        Self::start_on(env, "127.0.0.1:0", extra)
    }

    /// [`Server::start`] listening on `listen` (to start again where a stopped one was).
    pub fn start_on(env: &TestEnv, listen: &str, extra: &[&str]) -> Server {
        let mut args = vec!["server".to_owned(), "--listen".into(), listen.to_owned()];
        args.extend(extra.iter().map(|s| s.to_string()));
        Self::spawn(env, &args, "info", false)
    }

    fn spawn(env: &TestEnv, args: &[String], log_level: &str, dev: bool) -> Server {
        let log = env.dir.path().join(format!("server-{}.log", rand_suffix()));
        let mut child = StdCommand::new(BIN)
            .args(args)
            .env_clear()
            .envs(env.vars())
            .env("KEYWARD_LOG", log_level)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn keyward server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut url = String::new();
        let (mut admin_id, mut admin_secret) = (String::new(), String::new());
        while let Some(Ok(line)) = lines.next() {
            if let Some(i) = line.find("http://").or_else(|| line.find("https://")) {
                if url.is_empty() {
                    url = line[i..].split_whitespace().next().unwrap().to_owned();
                }
            }
            if let Some(id) = line.trim().strip_prefix("client id: ") {
                admin_id = id.to_owned();
            }
            if let Some(s) = line.trim().strip_prefix("secret:") {
                admin_secret = s.trim().to_owned();
            }
            if !dev && !url.is_empty() {
                break;
            }
            if line.trim_start().starts_with("keyward login") {
                break;
            }
        }
        assert!(
            !url.is_empty(),
            "the server printed no URL; log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Server {
            child,
            url,
            admin_id,
            admin_secret,
            log,
        }
    }

    /// Sends SIGTERM and waits; returns the exit code (None if killed by a signal).
    pub fn terminate(&mut self) -> Option<i32> {
        // SAFETY: kill(2) on the pid of a child this harness spawned and has not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        self.child.wait().unwrap().code()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the server to exit; its exit code, or `None` if it is still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<Option<i32>> {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status.code());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `host:port` of the server.
    pub fn authority(&self) -> &str {
        self.url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
    }

    /// Points `env` at this server with the dev super-admin's credentials in the environment.
    pub fn as_admin(&self, env: &mut TestEnv) {
        env.set("KEYWARD_URL", &self.url)
            .set("KEYWARD_CLIENT_ID", &self.admin_id)
            .set("KEYWARD_CLIENT_SECRET", &self.admin_secret);
    }

    /// Raw token exchange; returns the status and the access token, if any.
    pub fn token(&self, client_id: &str, secret: &str) -> (u16, Option<String>) {
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            client_id, secret
        );
        let resp = http(
            self.authority(),
            "POST",
            "/v1/oauth/token",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        );
        let token = serde_json::from_slice::<serde_json::Value>(&resp.body)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_owned));
        (resp.status, token)
    }

    /// A raw request with a bearer token.
    pub fn get_with_token(&self, path: &str, token: &str) -> HttpResponse {
        let auth = format!("Bearer {token}");
        http(
            self.authority(),
            "GET",
            path,
            &[("Authorization", &auth)],
            b"",
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 exchange over a fresh loopback connection, to see exactly what the server
/// sends (status, headers, body bytes).
pub fn http(
    authority: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let stream = TcpStream::connect(authority).expect("connect to the test server");
    http_over(stream, authority, method, path, headers, body)
}

/// `http` from a chosen source address: every address of 127.0.0.0/8 is this host's, so a
/// socket bound to `127.x.y.z` acts as another client of a server on 127.0.0.1.
pub fn http_from(
    source: std::net::Ipv4Addr,
    authority: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
    }
    let to: std::net::SocketAddr = authority.parse().expect("an ip:port authority");
    let stream = RUNTIME.with(|rt| {
        rt.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket
                .bind(std::net::SocketAddr::from((source, 0)))
                .expect("bind a loopback source address");
            socket
                .connect(to)
                .await
                .expect("connect to the test server")
        })
        .into_std()
        .unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    http_over(stream, authority, method, path, headers, body)
}

fn http_over(
    mut stream: TcpStream,
    authority: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete HTTP response");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&data[..eol]).unwrap().trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
    out
}

/// Checks the documented secret format independently of keyward's own code: prefix, 43 + 6
/// base62 characters, and the last 6 being the base62 CRC32 (IEEE) of everything before.
pub fn assert_secret_format(secret: &str, prefix: &str) {
    assert!(secret.starts_with(prefix), "{secret:?} lacks {prefix}");
    let body = &secret[prefix.len()..];
    assert_eq!(body.len(), 49, "49 characters after the prefix");
    assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()));
    let (signed, sum) = secret.split_at(secret.len() - 6);
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = crc32fast::hash(signed.as_bytes()) as u64;
    let mut expected = [b'0'; 6];
    for slot in expected.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    assert_eq!(sum.as_bytes(), &expected, "checksum of {secret:?}");
}

/// Every byte of every file under `dir` (recursively).
pub fn all_bytes_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The full secret in a human output (the hint, `kw_sk_…abcd`, also starts with the prefix).
pub fn find_secret(text: &str) -> String {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| (w.starts_with("kw_sk_") || w.starts_with("kw_pk_")) && w.len() == 55)
        .unwrap_or_else(|| panic!("no secret in {text}"))
        .to_owned()
}

/// One row of the audit log, read from the database itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub actor: String,
    pub action: String,
    pub key_id: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
}

/// Runs `sql` (one statement, or several for SQLite) on the database at `url` directly, as
/// someone with database access but not the pepper would.
pub fn db_exec(url: &str, sql: &str) {
    db_rows(url, sql);
}

/// Runs `sql` on the database at `url` directly; returns the first column of each row it
/// returns, as bytes (a statement that returns none: nothing).
pub fn db_rows(url: &str, sql: &str) -> Vec<Vec<u8>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Row;
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let rows = sqlx::raw_sql(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows.iter()
                .filter(|r| !r.is_empty())
                .map(|r| r.try_get::<Vec<u8>, _>(0).unwrap_or_default())
                .collect()
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let rows = sqlx::raw_sql(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows.iter()
                .filter(|r| !r.is_empty())
                .map(|r| r.try_get::<Vec<u8>, _>(0).unwrap_or_default())
                .collect()
        }
    })
}

/// Every audit event in the database at `url`, oldest first.
pub fn audit_rows(url: &str) -> Vec<AuditRow> {
    const QUERY: &str =
        "SELECT actor, action, key_id, outcome, request_id FROM audit_events ORDER BY id";
    macro_rules! audit_row {
        ($r:expr) => {{
            use sqlx::Row;
            AuditRow {
                actor: $r.get("actor"),
                action: $r.get("action"),
                key_id: $r.get("key_id"),
                outcome: $r.get("outcome"),
                request_id: $r.get("request_id"),
            }
        }};
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let rows = sqlx::query(QUERY).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows.iter().map(|r| audit_row!(r)).collect()
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let rows = sqlx::query(QUERY).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows.iter().map(|r| audit_row!(r)).collect()
        }
    })
}

/// A Python with the `prometheus_client` package, made once in the build's own temporary
/// directory (a virtual environment; `pip install` from PyPI the first time).
fn python_with_prometheus_client() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("prometheus-venv");
            let python = venv.join("bin").join("python3");
            let ready = |python: &Path| {
                StdCommand::new(python)
                    .args(["-c", "import prometheus_client"])
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !ready(&python) {
                let made = StdCommand::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .expect("python3 runs");
                assert!(
                    made.success(),
                    "python3 -m venv failed (Debian: apt-get install python3-venv)"
                );
                let installed = StdCommand::new(&python)
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "prometheus_client==0.21.1",
                    ])
                    .status()
                    .expect("pip runs");
                assert!(installed.success(), "pip install prometheus_client failed");
            }
            python
        })
        .clone()
}

/// Every sample in an OpenMetrics text, as read by the Python `prometheus_client` parser:
/// `{"name", "labels", "value"}` each. Panics, showing the text, when it does not parse.
pub fn parse_openmetrics(text: &str) -> Vec<serde_json::Value> {
    const READ: &str = "import json, sys\n\
from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
out = [{'name': s.name, 'labels': s.labels, 'value': s.value}\n\
       for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples]\n\
print(json.dumps(out))\n";
    let mut child = StdCommand::new(python_with_prometheus_client())
        .args(["-c", READ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not OpenMetrics text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
