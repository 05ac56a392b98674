//! Bearer tokens: JWTs verified with `jsonwebtoken`. In development they are HS256 with the
//! shared secret `GATEWAY_JWT_SECRET`; in production RS256 or ES256, signed by an identity
//! provider whose public keys the gateway reads from `GATEWAY_JWKS_URL` (cached, refreshed).
//!
//! Claims: `sub` (who), `roles` (`customer`, `courier`, `admin`), `exp`, and `nbf` when
//! present; `iss`, `aud` and a longest lifetime (`exp - iat`) when configured ([`ClaimRules`]);
//! 30 s of clock skew allowed by default. The algorithm is the verifier's, never the token's
//! choice: `alg: none`, an HS256 token against a JWKS, or an RS256 token against the shared
//! secret are all refused.
//!
//! The subject is taken exactly as signed and compared as bytes everywhere after: one with
//! surrounding spaces or control characters is refused here ([`subject_problem`]), so `" c-1"`
//! can never pass for `c-1` further in.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, jwk::JwkSet};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use super::policy::{Principal, Role};
use crate::config::ClaimRules;

/// The longest subject accepted, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// How long fetched keys are trusted before they are fetched again.
const JWKS_TTL: Duration = Duration::from_secs(300);
/// An unknown `kid` refetches the keys (a rotation), but not more often than this.
const JWKS_REFETCH_MIN: Duration = Duration::from_secs(30);

/// The claims we read and (for development tokens) write.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub roles: Vec<String>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Written on development tokens; read by the validation itself, where a provider's
    /// `aud` may also be an array.
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// Why a token was refused. The detail is for the log; the client gets one sentence.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or its signature, algorithm or claims are wrong: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("the token names key {0:?}, which the identity provider does not publish")]
    UnknownKey(Option<String>),
    #[error("the identity provider's keys could not be fetched: {0}")]
    Keys(String),
    #[error("the token's subject {0}")]
    Subject(&'static str),
    #[error("the token lives longer than the {0} s allowed, or has no iat")]
    Lifetime(u64),
}

/// Checks tokens.
#[derive(Clone)]
pub struct Verifier {
    keys: Keys,
    rules: Arc<ClaimRules>,
}

#[derive(Clone)]
enum Keys {
    /// A shared secret (development).
    Secret(Arc<SecretKey>),
    /// Public keys from a JWKS URL (production).
    Jwks(Arc<Jwks>),
}

pub struct SecretKey {
    decoding: DecodingKey,
    encoding: EncodingKey,
}

impl Verifier {
    /// HS256 with a shared secret, with lenient claim rules until [`Verifier::with_rules`].
    pub fn secret(secret: &[u8]) -> Self {
        Self {
            keys: Keys::Secret(Arc::new(SecretKey {
                decoding: DecodingKey::from_secret(secret),
                encoding: EncodingKey::from_secret(secret),
            })),
            rules: Arc::new(ClaimRules::lenient()),
        }
    }

    pub fn jwks(url: String) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .https_only(true)
            .build()
            .map_err(|err| err.to_string())?;
        Ok(Self {
            keys: Keys::Jwks(Arc::new(Jwks {
                url,
                client,
                keys: RwLock::new(None),
            })),
            rules: Arc::new(ClaimRules::lenient()),
        })
    }

    /// The same keys, checking `rules`.
    pub fn with_rules(self, rules: ClaimRules) -> Self {
        Self {
            rules: Arc::new(rules),
            ..self
        }
    }

    /// The clock skew tolerated on `exp`: a socket lives this long past its token's expiry.
    pub fn leeway(&self) -> Duration {
        self.rules.leeway
    }

    /// The caller a valid token names.
    pub async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let claims = match &self.keys {
            Keys::Secret(key) => {
                let validation = validation(Algorithm::HS256, &self.rules);
                jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)?.claims
            }
            Keys::Jwks(jwks) => jwks.verify(token, &self.rules).await?,
        };
        if let Some(max) = self.rules.max_lifetime {
            let lifetime = claims.iat.map(|iat| claims.exp.saturating_sub(iat));
            if lifetime.is_none_or(|lifetime| lifetime > max.as_secs()) {
                return Err(TokenError::Lifetime(max.as_secs()));
            }
        }
        if let Some(problem) = subject_problem(&claims.sub) {
            return Err(TokenError::Subject(problem));
        }
        let roles = claims
            .roles
            .iter()
            .filter_map(|role| Role::parse(role))
            .collect();
        Ok(Principal {
            subject: claims.sub,
            roles,
            expires_at: claims.exp,
        })
    }

    /// A token for `subject` with `roles`, valid for `ttl`: development sign-in only, so only
    /// with a shared secret.
    pub fn issue(&self, subject: &str, roles: &[Role], ttl: Duration) -> Option<String> {
        let Keys::Secret(key) = &self.keys else {
            return None;
        };
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            roles: roles.iter().map(|role| role.as_str().to_owned()).collect(),
            exp: now + ttl.as_secs(),
            iat: Some(now),
            iss: self.rules.issuer.clone(),
            aud: self.rules.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key.encoding).ok()
    }
}

fn validation(algorithm: Algorithm, rules: &ClaimRules) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = rules.leeway.as_secs();
    validation.validate_nbf = true;
    let mut required = vec!["exp", "sub"];
    match &rules.issuer {
        Some(issuer) => {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        None => validation.iss = None,
    }
    match &rules.audience {
        Some(audience) => {
            validation.set_audience(&[audience]);
            required.push("aud");
        }
        None => validation.validate_aud = false,
    }
    validation.set_required_spec_claims(&required);
    validation
}

/// What is wrong with a subject, if anything: it must be 1 to [`MAX_SUBJECT_CHARS`]
/// characters, with no control characters and no space at either end. Refusing these at the
/// edge is what lets every later comparison be exact.
pub fn subject_problem(subject: &str) -> Option<&'static str> {
    if subject.is_empty() {
        Some("is empty")
    } else if subject.chars().count() > MAX_SUBJECT_CHARS {
        Some("is longer than 200 characters")
    } else if subject.chars().any(char::is_control) {
        Some("contains control characters")
    } else if subject.trim() != subject {
        Some("starts or ends with a space")
    } else {
        None
    }
}

/// An identity provider's published keys, fetched on first use and kept for [`JWKS_TTL`].
pub struct Jwks {
    url: String,
    client: reqwest::Client,
    keys: RwLock<Option<(JwkSet, Instant)>>,
}

impl Jwks {
    async fn verify(&self, token: &str, rules: &ClaimRules) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        // Asymmetric keys only: an HS256 token "signed" with a public key must not pass.
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(TokenError::Invalid(
                jsonwebtoken::errors::ErrorKind::InvalidAlgorithm.into(),
            ));
        }
        let key = self.key(header.kid.as_deref()).await?;
        Ok(jsonwebtoken::decode::<Claims>(token, &key, &validation(header.alg, rules))?.claims)
    }

    async fn key(&self, kid: Option<&str>) -> Result<DecodingKey, TokenError> {
        if let Some(key) = self.cached(kid, JWKS_TTL).await {
            return key;
        }
        let fresh = self.fetch().await?;
        let mut keys = self.keys.write().await;
        // Another request may have refetched meanwhile; a recent set is as good as ours.
        if keys
            .as_ref()
            .is_none_or(|(_, at)| at.elapsed() >= JWKS_REFETCH_MIN)
        {
            *keys = Some((fresh, Instant::now()));
        }
        let (set, _) = keys
            .as_ref()
            .ok_or_else(|| TokenError::Keys("no keys".into()))?;
        find(set, kid)
    }

    /// The key from the cached set when it is younger than `max_age`; an unknown kid in a set
    /// younger than the refetch floor is a definite "no".
    async fn cached(
        &self,
        kid: Option<&str>,
        max_age: Duration,
    ) -> Option<Result<DecodingKey, TokenError>> {
        let keys = self.keys.read().await;
        let (set, at) = keys.as_ref()?;
        match find(set, kid) {
            Ok(key) if at.elapsed() < max_age => Some(Ok(key)),
            Err(err) if at.elapsed() < JWKS_REFETCH_MIN => Some(Err(err)),
            _ => None,
        }
    }

    async fn fetch(&self) -> Result<JwkSet, TokenError> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| TokenError::Keys(err.to_string()))?;
        response
            .json::<JwkSet>()
            .await
            .map_err(|err| TokenError::Keys(err.to_string()))
    }
}

fn find(set: &JwkSet, kid: Option<&str>) -> Result<DecodingKey, TokenError> {
    let jwk = match kid {
        Some(kid) => set.find(kid),
        // No kid: only unambiguous with a single key.
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
    .ok_or_else(|| TokenError::UnknownKey(kid.map(str::to_owned)))?;
    Ok(DecodingKey::from_jwk(jwk)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier() -> Verifier {
        Verifier::secret(b"a test secret of thirty-two bytes!")
    }

    async fn verdict(verifier: &Verifier, token: &str) -> Result<Principal, String> {
        verifier.verify(token).await.map_err(|err| err.to_string())
    }

    fn sign(claims: &serde_json::Value, secret: &[u8], alg: Algorithm) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret))
            .expect("signs")
    }

    #[tokio::test]
    async fn a_token_it_issued_verifies_with_its_roles() {
        let verifier = verifier();
        let token = verifier
            .issue("c-1", &[Role::Customer], Duration::from_secs(60))
            .expect("issues with a secret");
        let principal = verdict(&verifier, &token).await.expect("valid");
        assert_eq!(principal.subject, "c-1");
        assert_eq!(principal.roles, [Role::Customer]);
    }

    #[tokio::test]
    async fn refuses_alg_none_wrong_keys_expiry_and_garbage() {
        let verifier = verifier();
        let now = jsonwebtoken::get_current_timestamp();
        let claims = serde_json::json!({"sub": "c-1", "roles": ["admin"], "exp": now + 60});
        // alg: none, hand-made (no library signs it).
        let b64 = |v: &serde_json::Value| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let none = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
            b64(&claims)
        );
        assert!(verdict(&verifier, &none).await.is_err());
        let wrong_key = sign(
            &claims,
            b"another secret, thirty-two bytes",
            Algorithm::HS256,
        );
        assert!(verdict(&verifier, &wrong_key).await.is_err());
        let other_alg = sign(
            &claims,
            b"a test secret of thirty-two bytes!",
            Algorithm::HS512,
        );
        assert!(verdict(&verifier, &other_alg).await.is_err());
        let expired = serde_json::json!({"sub": "c-1", "roles": [], "exp": now - 120});
        let expired = sign(
            &expired,
            b"a test secret of thirty-two bytes!",
            Algorithm::HS256,
        );
        assert!(verdict(&verifier, &expired).await.is_err());
        // Within the clock skew it still passes.
        let just_expired = serde_json::json!({"sub": "c-1", "roles": [], "exp": now - 5});
        let just_expired = sign(
            &just_expired,
            b"a test secret of thirty-two bytes!",
            Algorithm::HS256,
        );
        assert!(verdict(&verifier, &just_expired).await.is_ok());
        let no_sub = serde_json::json!({"roles": [], "exp": now + 60});
        let no_sub = sign(
            &no_sub,
            b"a test secret of thirty-two bytes!",
            Algorithm::HS256,
        );
        assert!(verdict(&verifier, &no_sub).await.is_err());
        assert!(verdict(&verifier, "not.a.token").await.is_err());
    }

    const SECRET: &[u8] = b"a test secret of thirty-two bytes!";

    fn strict() -> Verifier {
        Verifier::secret(SECRET).with_rules(ClaimRules {
            issuer: Some("https://id.example".into()),
            audience: Some("mesh".into()),
            max_lifetime: Some(Duration::from_secs(3600)),
            leeway: Duration::from_secs(0),
        })
    }

    #[tokio::test]
    async fn configured_issuer_audience_and_lifetime_are_checked() {
        let verifier = strict();
        let now = jsonwebtoken::get_current_timestamp();
        let good = serde_json::json!({"sub": "c-1", "exp": now + 60, "iat": now,
            "iss": "https://id.example", "aud": ["other", "mesh"]});
        assert!(
            verdict(&verifier, &sign(&good, SECRET, Algorithm::HS256))
                .await
                .is_ok()
        );
        let issued = verifier
            .issue("c-1", &[Role::Customer], Duration::from_secs(60))
            .expect("issues");
        assert!(
            verdict(&verifier, &issued).await.is_ok(),
            "its own tokens pass"
        );
        for (field, value) in [
            ("iss", serde_json::json!("https://evil.example")),
            ("aud", serde_json::json!("another-api")),
            ("iat", serde_json::json!(now - 7200)),
            ("nbf", serde_json::json!(now + 600)),
        ] {
            let mut claims = good.clone();
            claims[field] = value;
            let token = sign(&claims, SECRET, Algorithm::HS256);
            assert!(verdict(&verifier, &token).await.is_err(), "bad {field}");
        }
        for missing in ["iss", "aud", "iat"] {
            let mut claims = good.clone();
            claims.as_object_mut().expect("object").remove(missing);
            let token = sign(&claims, SECRET, Algorithm::HS256);
            assert!(verdict(&verifier, &token).await.is_err(), "no {missing}");
        }
    }

    #[tokio::test]
    async fn subjects_are_taken_exactly_and_malformed_ones_refused() {
        let verifier = verifier();
        let now = jsonwebtoken::get_current_timestamp();
        for subject in [" c-1", "c-1 ", "", "c\u{0}1", "a\tb"] {
            let claims = serde_json::json!({"sub": subject, "exp": now + 60});
            let token = sign(&claims, SECRET, Algorithm::HS256);
            assert!(verdict(&verifier, &token).await.is_err(), "{subject:?}");
        }
        let claims = serde_json::json!({"sub": "03", "exp": now + 60});
        let principal = verdict(&verifier, &sign(&claims, SECRET, Algorithm::HS256))
            .await
            .expect("03 is a well-formed subject");
        assert_eq!(principal.subject, "03", "kept as signed, not as a number");
    }
}
