//! How the HTTPS clients (the ECX REST API, the lease service) check a server's certificate,
//! and how a refused certificate is told apart from a server that does not answer.
//!
//! ECX servers usually present a certificate of the site's own CA, or a self-signed one. A
//! `ca_file` trusts that CA (instead of the public roots, as `curl --cacert` does), and
//! `skip_certificate_check` accepts any certificate, as NEC's sample client allows.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// Certificate authorities read from a PEM file.
#[derive(Clone)]
pub struct CaFile {
    pub path: PathBuf,
    certificates: Arc<Vec<Certificate<'static>>>,
}

impl std::fmt::Debug for CaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaFile")
            .field("path", &self.path)
            .field("certificates", &self.certificates.len())
            .finish()
    }
}

impl CaFile {
    /// Reads every certificate of the PEM file at `path`; the error says what is wrong with
    /// the file (the caller adds where it was configured).
    pub fn load(path: &Path) -> Result<CaFile, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        CaFile::from_pem(path, &bytes)
    }

    pub fn from_pem(path: &Path, pem: &[u8]) -> Result<CaFile, String> {
        let mut certificates = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(PemItem::Certificate(c)) => certificates.push(c.to_owned()),
                Ok(_) => {}
                Err(_) => return Err(format!("{} is not a valid PEM file", path.display())),
            }
        }
        if certificates.is_empty() {
            return Err(format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ));
        }
        Ok(CaFile {
            path: path.to_path_buf(),
            certificates: Arc::new(certificates),
        })
    }
}

/// Which certificates an HTTPS client accepts.
#[derive(Debug, Clone, Default)]
pub struct CertificateTrust {
    /// Accept any certificate.
    pub skip_certificate_check: bool,
    /// Trust these authorities instead of the public roots.
    pub ca: Option<CaFile>,
}

impl CertificateTrust {
    pub fn tls_config(&self) -> TlsConfig {
        let mut builder = TlsConfig::builder().disable_verification(self.skip_certificate_check);
        if let Some(ca) = &self.ca {
            builder = builder.root_certs(RootCerts::Specific(ca.certificates.clone()));
        }
        builder.build()
    }
}

/// What was wrong with the server's certificate, if that is why `error` happened.
pub fn certificate_problem(error: &ureq::Error) -> Option<&'static str> {
    let rustls_error = match error {
        ureq::Error::Rustls(e) => e,
        ureq::Error::Io(e) => e.get_ref()?.downcast_ref::<rustls::Error>()?,
        _ => return None,
    };
    match rustls_error {
        rustls::Error::InvalidCertificate(c) => Some(describe(c)),
        _ => None,
    }
}

fn describe(problem: &rustls::CertificateError) -> &'static str {
    use rustls::CertificateError as C;
    match problem {
        C::UnknownIssuer => {
            "it is not signed by a trusted certificate authority (self-signed, or a CA that \
             `ca_file` does not name)"
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "it is not issued for the address connected to"
        }
        C::Expired | C::ExpiredContext { .. } => "it has expired",
        C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet",
        C::Revoked => "it has been revoked",
        C::BadSignature => "its signature does not verify",
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "it is not issued for TLS server authentication"
        }
        C::BadEncoding => "it is not a well-formed certificate",
        _ => "it does not verify",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused() {
        let e = CaFile::from_pem(Path::new("ca.pem"), b"not a certificate\n").unwrap_err();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        let e = CaFile::from_pem(
            Path::new("ca.pem"),
            b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap_err();
        assert!(e.contains("not a valid PEM file"), "{e}");
    }
}
