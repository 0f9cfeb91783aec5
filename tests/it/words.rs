//! Errors in the user's words: no API path, no internal field name, no library's debug text in
//! anything the CLI says, whether the CLI or the server (whose problem details the CLI prints)
//! wrote it.

use std::path::Path;

use crate::harness::TestEnv;

/// What must never reach a person reading an error.
const FORBIDDEN: [&str; 4] = ["/v1/", "Context {", "caller reaches", "the caller"];

/// Calls that make an error someone reads: the CLI's own, and the server's problem details.
const ERROR_MAKERS: [&str; 11] = [
    "UsageError(",
    "bail!(",
    "anyhow!(",
    "CliFailure::",
    "#[error(",
    "ApiError::invalid(",
    "ApiError::Forbidden(",
    "ApiError::Conflict {",
    "ClientError::Api {",
    "ctx.say(",
    "ctx.warn(",
];

/// Every string literal in the source of an error (the call and the lines after it up to the
/// end of the call), as (file:line, text).
fn error_strings(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            error_strings(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !ERROR_MAKERS.iter().any(|m| line.contains(m)) {
                continue;
            }
            for (j, l) in lines[i..lines.len().min(i + 6)].iter().enumerate() {
                for literal in l.split('"').skip(1).step_by(2) {
                    out.push((
                        format!("{}:{}", path.display(), i + j + 1),
                        literal.to_owned(),
                    ));
                }
                if j > 0 && l.trim_end().ends_with(");") {
                    break;
                }
            }
        }
    }
}

#[test]
fn no_error_the_cli_can_print_names_an_api_path_or_debug_text() {
    let mut found = Vec::new();
    error_strings(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(
        found.len() > 200,
        "the scan found the errors: {}",
        found.len()
    );
    let bad: Vec<_> = found
        .iter()
        .filter(|(_, text)| FORBIDDEN.iter().any(|f| text.contains(f)))
        .collect();
    assert!(bad.is_empty(), "errors in the API's words: {bad:#?}");
}

#[test]
fn an_unknown_environment_is_named_in_the_users_words() {
    let env = TestEnv::new();
    let err = env.fails(
        &[
            "keys",
            "create",
            "--name",
            "nowhere",
            "--env",
            "nope",
            "--no-store",
        ],
        2,
    );
    assert!(err.contains("\"nope\""), "{err}");
    assert!(
        err.contains("default"),
        "names the environments there are: {err}"
    );
    for f in FORBIDDEN {
        assert!(!err.contains(f), "{f} in {err}");
    }
}

#[test]
fn a_refused_database_connection_is_said_at_once_with_where() {
    let env = TestEnv::new();
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let pepper = env.dir.path().join("pepper");
    std::fs::write(&pepper, [7u8; 32]).unwrap();
    let out = env
        .keyward()
        .args([
            "server",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &format!("postgres://postgres@127.0.0.1:{port}/keyward"),
            "--pepper-file",
        ])
        .arg(&pepper)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("connection refused at 127.0.0.1:{port}")),
        "{err}"
    );
    // Said from the first connection, not after the pool's acquire timeout.
    assert!(!err.contains("pool timed out"), "{err}");
}
