//! The credentials file: the ECX REST API's OS user, the WinRM user for remote cmdlets, and
//! the lease service's user. Secrets never reach a command line, a log or an error message:
//! `Secret` has no `Display`, and its `Debug` shows nothing.

use std::path::Path;

use toml_edit::{ImDocument, TableLike};

use crate::scenario::reader::TableReader;
use crate::scenario::{ScenarioError, Source};

/// A password, kept out of every rendering.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret itself: only for an `Authorization` header or a child's stdin.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A user name and its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub user: String,
    pub password: Secret,
}

impl Credential {
    pub fn new(user: &str, password: &str) -> Credential {
        Credential {
            user: user.to_string(),
            password: Secret::new(password),
        }
    }

    /// `Basic base64(user:password)`, the value of an `Authorization` header.
    pub fn basic_authorization(&self) -> Secret {
        use base64::Engine;
        let pair = format!("{}:{}", self.user, self.password.expose());
        Secret::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    }
}

/// Every credential a deployment may need; each section is optional, and the parts of the
/// program that need one say so when it is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `[ecx]`: HTTP Basic credentials of the ECX REST API (an OS user of the servers).
    pub ecx: Option<Credential>,
    /// `[winrm]`: `Invoke-Command -Credential` for cmdlets on other hosts; without it, remote
    /// cmdlets run as the account ECX runs the script under (Kerberos single sign-on).
    pub winrm: Option<Credential>,
    /// `[lease]`: the master's lease service.
    pub lease: Option<Credential>,
}

/// Reads and checks a credentials file. Errors locate the problem but never quote a value.
pub fn load(path: &Path) -> Result<Credentials, ScenarioError> {
    let error = |message: String| super::config::file_error(path, message);
    check_private(path).map_err(error)?;
    let bytes =
        std::fs::read(path).map_err(|e| error(format!("cannot read the credentials file: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| error("the credentials file is not UTF-8 text".to_string()))?;
    parse(path, text)
}

/// Validates credentials text (`path` names it in errors).
pub fn parse(path: &Path, text: String) -> Result<Credentials, ScenarioError> {
    let src = Source::new(path, text);
    let doc = ImDocument::parse(src.text.as_str()).map_err(|e| {
        // The parser's message can quote the offending text, which may be a password.
        src.error(e.span(), "", "invalid TOML syntax")
    })?;
    let mut top = TableReader::new(&src, "", doc.as_table() as &dyn TableLike, Some(0..0));
    let mut read = |key: &'static str| -> Result<Option<Credential>, ScenarioError> {
        let Some(mut t) = top.table(key)? else {
            return Ok(None);
        };
        let (user, _) = t.required("user", "a user name", TableReader::name)?;
        let (password, _) = t.required("password", "a password", TableReader::string)?;
        t.finish()?;
        Ok(Some(Credential {
            user,
            password: Secret::new(password),
        }))
    };
    let credentials = Credentials {
        ecx: read("ecx")?,
        winrm: read("winrm")?,
        lease: read("lease")?,
    };
    top.finish()?;
    Ok(credentials)
}

/// Refuses a credentials file other users may read or change.
#[cfg(unix)]
pub fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read the credentials file: {e}"))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "the credentials file is accessible to other users (mode {mode:03o}); \
             allow its owner only (chmod 600)"
        ));
    }
    Ok(())
}

/// On Windows the file's ACL decides; the README says to restrict it to Administrators and
/// the account ECX runs scripts under.
#[cfg(not(unix))]
pub fn check_private(_path: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_render() {
        let c = Credential::new("Administrator", "s3cret!");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert_eq!(
            c.basic_authorization().expose(),
            "Basic QWRtaW5pc3RyYXRvcjpzM2NyZXQh"
        );
    }

    #[test]
    fn parses_sections_and_locates_errors_without_quoting_values() {
        let text = "[ecx]\nuser = \"admin\"\npassword = \"pw1\"\n[lease]\nuser = \"l\"\npassword = \"pw2\"\n";
        let c = parse(Path::new("c.toml"), text.into()).unwrap();
        assert_eq!(c.ecx.unwrap().password.expose(), "pw1");
        assert!(c.winrm.is_none());
        let bad = "[ecx]\nuser = \"admin\"\npasword = \"hunter2\"\n";
        let e = parse(Path::new("c.toml"), bad.into())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let syntax = "[ecx]\nuser = \"admin\"\npassword = \"hunter2\n";
        let e = parse(Path::new("c.toml"), syntax.into())
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml:3:"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.toml");
        std::fs::write(&path, "[ecx]\nuser = \"a\"\npassword = \"b\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("mode 644"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load(&path).unwrap().ecx.is_some());
    }
}
