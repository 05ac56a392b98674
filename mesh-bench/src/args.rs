//! `--name value` options, each possibly repeated. A parser of our own: four commands with a
//! handful of options each do not need a CLI framework compiled on two cores.

use std::{collections::HashMap, str::FromStr, time::Duration};

use anyhow::{Context, Result, anyhow, bail};

pub struct Args {
    values: HashMap<String, Vec<String>>,
}

impl Args {
    pub fn parse(raw: impl Iterator<Item = String>) -> Result<Self> {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        let mut raw = raw.peekable();
        while let Some(arg) = raw.next() {
            let Some(name) = arg.strip_prefix("--") else {
                bail!("'{arg}' is not an option (--name value)");
            };
            let (name, value) = match name.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => {
                    let value = raw
                        .next()
                        .ok_or_else(|| anyhow!("--{name} needs a value"))?;
                    (name.to_owned(), value)
                }
            };
            values.entry(name).or_default().push(value);
        }
        Ok(Self { values })
    }

    /// The last value given for `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|all| all.last())
            .map(String::as_str)
    }

    pub fn required(&self, name: &str) -> Result<&str> {
        self.text(name)
            .ok_or_else(|| anyhow!("--{name} is required"))
    }

    /// Every value given for `name`, in order.
    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn parsed<T>(&self, name: &str, default: T) -> Result<T>
    where
        T: FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        match self.text(name) {
            Some(raw) => raw
                .parse()
                .with_context(|| format!("--{name} {raw}: not a valid value")),
            None => Ok(default),
        }
    }

    /// Seconds, fractions allowed (`--duration 2.5`).
    pub fn seconds(&self, name: &str, default: f64) -> Result<Duration> {
        let seconds: f64 = self.parsed(name, default)?;
        if !(seconds.is_finite() && seconds > 0.0) {
            bail!("--{name} must be a positive number of seconds");
        }
        Ok(Duration::from_secs_f64(seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(raw: &[&str]) -> Result<Args> {
        Args::parse(raw.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn options_take_the_next_argument_or_an_equals_sign() -> Result<()> {
        let parsed = args(&["--id", "7", "--pid=a=1", "--pid", "b=2"])?;
        assert_eq!(parsed.parsed("id", 0_i64)?, 7);
        assert_eq!(parsed.all("pid"), ["a=1", "b=2"]);
        assert_eq!(parsed.parsed("connections", 32_usize)?, 32);
        Ok(())
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(args(&["id"]).is_err());
        assert!(args(&["--id"]).is_err());
        assert!(
            args(&["--id", "x"])
                .and_then(|a| a.parsed("id", 0_i64))
                .is_err()
        );
        assert!(
            args(&["--duration", "-1"])
                .and_then(|a| a.seconds("duration", 1.0))
                .is_err()
        );
    }
}
