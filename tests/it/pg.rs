//! One throwaway PostgreSQL cluster per test run, started from the machine's PostgreSQL binaries
//! on a free loopback port with its socket in a temp dir, and a fresh database per test.
//!
//! PostgreSQL refuses to run as root, and the tests may run as root: then the cluster runs as
//! the `postgres` user. A watchdog process stops the cluster and removes its directory when
//! this test process ends, however it ends (a failed test, a panic, a kill).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub struct Cluster {
    port: u16,
    /// The server options `pg_ctl start -o` was given, for a restart on the same port.
    #[allow(dead_code, reason = "restarts happen in tests/pg only")]
    options: String,
    /// Where the server's Unix socket lives, and the data directory below it.
    dir: PathBuf,
    bin: PathBuf,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// The run's cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(Cluster::start)
}

/// The directory holding initdb, pg_ctl and postgres: on PATH, or Debian's versioned one.
fn find_bin() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    debian.sort();
    debian.reverse();
    on_path
        .into_iter()
        .chain(debian)
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
        .unwrap_or_else(|| {
            panic!(
                "the tests run every store test on PostgreSQL too, and no PostgreSQL binaries \
                 were found (initdb and pg_ctl, on PATH or in /usr/lib/postgresql/*/bin): \
                 install the Debian package postgresql-15 (`apt-get install postgresql-15`)"
            )
        })
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `program` from `bin`, as the `postgres` user when this process is root.
fn pg_command(bin: &Path, program: &str) -> Command {
    let path = bin.join(program);
    if running_as_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(path);
        cmd
    } else {
        Command::new(path)
    }
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    /// A cluster of its own, for a test that stops and restarts it.
    pub fn start() -> Cluster {
        let bin = find_bin();
        let dir = tempfile::Builder::new()
            .prefix("keyward-pg-")
            .tempdir()
            .expect("temp dir for PostgreSQL")
            .keep();
        if running_as_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres:").arg(&dir);
                    c
                },
                "chown of the cluster directory to postgres",
            );
        }
        let data = dir.join("data");
        let mut initdb = pg_command(&bin, "initdb");
        initdb.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        run(initdb, "initdb");
        // A stopped cluster would leave the directory behind: the watchdog is started before
        // the server, and outlives this process.
        Self::watch(&bin, &dir, &data);
        // The port is picked by binding to port 0; another process could take it before
        // PostgreSQL binds it, so a failed start is tried again on a new port.
        for attempt in 0.. {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off -c max_connections=1000",
                dir.display()
            );
            let mut start = pg_command(&bin, "pg_ctl");
            start
                .arg("-D")
                .arg(&data)
                .args(["-o", &options, "-l"])
                .arg(dir.join("log"))
                .args(["-w", "-t", "60", "start"]);
            let ok = start
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Cluster {
                    port,
                    options,
                    dir,
                    bin,
                };
            }
            assert!(
                attempt < 4,
                "PostgreSQL did not start; its log:\n{}",
                std::fs::read_to_string(dir.join("log")).unwrap_or_default()
            );
        }
        unreachable!()
    }

    /// Stops the cluster and removes its directory once this process is gone.
    fn watch(bin: &Path, dir: &Path, data: &Path) {
        let pg_ctl = bin.join("pg_ctl");
        let stop = if running_as_root() {
            format!(
                "runuser -u postgres -- {} -D {} stop -m immediate",
                pg_ctl.display(),
                data.display()
            )
        } else {
            format!(
                "{} -D {} stop -m immediate",
                pg_ctl.display(),
                data.display()
            )
        };
        let script = format!(
            "(while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             for p in {dir}/pgbouncer-*/pid; do [ -f \"$p\" ] && kill \"$(cat \"$p\")\"; done; \
             {stop} >/dev/null 2>&1; rm -rf {dir}) </dev/null >/dev/null 2>&1 &",
            pid = std::process::id(),
            dir = dir.display()
        );
        use std::os::unix::process::CommandExt;
        // The shell starts the watchdog in the background and exits at once; the watchdog,
        // orphaned, lives on after this process and in a process group of its own, so a Ctrl-C
        // to the test run does not stop the cleanup.
        let status = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .status()
            .expect("spawn the PostgreSQL watchdog");
        assert!(status.success(), "the PostgreSQL watchdog did not start");
    }

    /// A PgBouncer in transaction mode in front of this cluster, stopped when dropped.
    #[allow(dead_code, reason = "PgBouncer runs in tests/pg only")]
    pub fn pgbouncer(&self) -> PgBouncer {
        PgBouncer::start(self)
    }

    /// One of PostgreSQL's client programs (pg_dump, pg_restore) of this cluster's version.
    #[allow(dead_code, reason = "the backup test uses it in tests/pg only")]
    pub fn client(&self, program: &str) -> Command {
        let beside = self.bin.join(program);
        // Beside the server's binaries, else on PATH (Debian's postgresql-client wrappers).
        Command::new(if beside.is_file() {
            beside
        } else {
            program.into()
        })
    }

    /// The URL of database `name` in this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// A new, empty database; its URL.
    pub fn create_database(&self) -> String {
        let name = format!(
            "t_{}",
            keyward::secret::random_base62(12).to_ascii_lowercase()
        );
        let admin = self.url("postgres");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            use sqlx::{Connection, Executor};
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("connect to the test cluster: {e}"));
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
            let _ = conn.close().await;
        });
        self.url(&name)
    }

    /// Writes every dirty page out (CHECKPOINT) and returns the cluster's directory, for a
    /// test that searches the stored bytes.
    pub fn checkpoint(&self) -> PathBuf {
        let admin = self.url("postgres");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            use sqlx::{Connection, Executor};
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            conn.execute("CHECKPOINT").await.unwrap();
            let _ = conn.close().await;
        });
        self.dir.clone()
    }

    /// Stops the cluster (fast shutdown: connections are cut), for outage tests.
    #[allow(dead_code, reason = "outages happen in tests/pg only")]
    pub fn stop(&self) {
        let mut c = pg_command(&self.bin, "pg_ctl");
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"]);
        run(c, "pg_ctl stop");
    }

    /// Starts the cluster again on the same port.
    #[allow(dead_code, reason = "outages happen in tests/pg only")]
    pub fn restart(&self) {
        let mut c = pg_command(&self.bin, "pg_ctl");
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-o", &self.options, "-l"])
            .arg(self.dir.join("log"))
            .args(["-w", "-t", "60", "start"]);
        run(c, "pg_ctl start");
    }
}

/// A cluster of a test's own is stopped and removed with the test (the run's shared cluster is
/// a static, never dropped: its watchdog removes it).
impl Drop for Cluster {
    fn drop(&mut self) {
        let mut c = pg_command(&self.bin, "pg_ctl");
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = c.status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// PgBouncer in transaction mode: each transaction may get another server connection, and
/// LISTEN and prepared statements do not outlive one.
#[allow(dead_code, reason = "PgBouncer runs in tests/pg only")]
pub struct PgBouncer {
    port: u16,
    dir: PathBuf,
}

#[allow(dead_code, reason = "PgBouncer runs in tests/pg only")]
impl PgBouncer {
    fn start(cluster: &Cluster) -> PgBouncer {
        let bin = [
            "/usr/sbin/pgbouncer",
            "/usr/bin/pgbouncer",
            "/usr/local/bin/pgbouncer",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the PgBouncer tests need pgbouncer: install the Debian package pgbouncer \
                     (`apt-get install pgbouncer`)"
            )
        });
        let dir = cluster.dir.join(format!(
            "pgbouncer-{}",
            keyward::secret::random_base62(8).to_ascii_lowercase()
        ));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("users.txt"), "\"postgres\" \"\"\n").unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Few server connections for many clients, so that transactions really move between
        // them. PgBouncer 1.18 refuses a startup parameter sqlx sends unless told to ignore it.
        let config = format!(
            "[databases]\n* = host=127.0.0.1 port={pg}\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {dir}/users.txt\npool_mode = transaction\n\
             default_pool_size = 3\nmax_client_conn = 500\n\
             ignore_startup_parameters = extra_float_digits\n\
             logfile = {dir}/log\npidfile = {dir}/pid\n",
            pg = cluster.port,
            dir = dir.display()
        );
        std::fs::write(dir.join("pgbouncer.ini"), config).unwrap();
        if running_as_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("-R").arg("postgres:").arg(&dir);
                    c
                },
                "chown of the PgBouncer directory",
            );
        }
        let mut cmd = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        cmd.arg("-d").arg(dir.join("pgbouncer.ini"));
        run(cmd, "pgbouncer -d");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "PgBouncer did not start; its log:\n{}",
                std::fs::read_to_string(dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        PgBouncer { port, dir }
    }

    /// The URL of database `name` through PgBouncer, telling keyward what is in between.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{name}?pgbouncer=true",
            self.port
        )
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("pid")) {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                // SAFETY: kill(2) on the pid PgBouncer wrote for itself.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
    }
}
