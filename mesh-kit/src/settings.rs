//! Typed settings. Each binary declares everything it reads as one `clap::Parser` struct, built
//! from the groups every binary shares ([`crate::config::DatabaseSettings`],
//! `mesh_kafka::KafkaSettings`, [`crate::tls::TlsSettings`], ...) and its own fields: a
//! setting is its environment variable, its default, its type and its meaning, written once.
//!
//! [`parse`] reads them at start: a value that does not parse stops the binary with a message
//! naming the variable; a variable that is unset or empty takes its default. Every setting is
//! also a flag named after its variable (`DB_POOL_SIZE` is `--db-pool-size`), and
//! `BINARY --print-settings` lists them all (`--print-settings=json` for scripts), which is
//! what the scripts, the deployment checks and `docs/configuration.md` read.

use std::{ffi::OsStr, fmt, process::ExitCode, str::FromStr};

use clap::{Arg, ArgAction, Command, CommandFactory, Parser};

/// The flag that lists the settings instead of running.
const PRINT_SETTINGS: &str = "print-settings";

/// One setting as `--print-settings` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The environment variable.
    pub name: String,
    /// The value it has when unset; `None`: absent (the feature it turns on is off).
    pub default: Option<String>,
    /// What it means.
    pub help: String,
    /// Its value is a secret: never printed, never logged.
    pub secret: bool,
}

/// Reads the binary's settings from its environment and arguments, or answers
/// `--print-settings`, `--help` and `--version` and exits.
pub fn parse<S: Parser>() -> S {
    match try_parse(std::env::args_os()) {
        Ok(settings) => settings,
        Err(Exit(code)) => std::process::exit(code),
    }
}

/// What ended [`try_parse`] without settings: the exit code to leave with.
#[derive(Debug)]
pub struct Exit(pub i32);

/// [`parse`], on `args` (the program's name first), returning instead of exiting.
pub fn try_parse<S, I, T>(args: I) -> Result<S, Exit>
where
    S: Parser,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let requested = args.iter().skip(1).find_map(|arg| {
        let arg = arg.to_str()?;
        let rest = arg.strip_prefix("--")?.strip_prefix(PRINT_SETTINGS)?;
        match rest {
            "" => Some("env"),
            _ => rest.strip_prefix('='),
        }
    });
    if let Some(format) = requested {
        let settings = list::<S>();
        let text = match format {
            "env" => env_file(&S::command(), &settings),
            "json" => json(&settings),
            other => {
                eprintln!("--print-settings takes env or json, not {other:?}");
                return Err(Exit(2));
            }
        };
        print(&text);
        return Err(Exit(0));
    }
    let mut command = command::<S>(true);
    let settings = command
        .try_get_matches_from_mut(args)
        .and_then(|mut matches| S::from_arg_matches_mut(&mut matches))
        .map_err(|err| err.format(&mut command));
    settings.map_err(|err| {
        let _ = err.print();
        Exit(err.exit_code())
    })
}

/// Every setting `S` reads, in its declaration order.
pub fn list<S: CommandFactory>() -> Vec<Setting> {
    command::<S>(false)
        .get_arguments()
        .filter_map(|arg| {
            let name = arg.get_env()?.to_string_lossy().into_owned();
            let default = match arg.get_default_values() {
                [] => None,
                values => Some(
                    values
                        .iter()
                        .map(|value| value.to_string_lossy())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            };
            let help = arg
                .get_long_help()
                .or(arg.get_help())
                .map(ToString::to_string)
                .unwrap_or_default();
            Some(Setting {
                name,
                default,
                help,
                secret: arg.is_hide_env_values_set(),
            })
        })
        .collect()
}

/// `S`'s command as the binary runs it: each setting's flag and value named after its variable,
/// `--print-settings` documented, and (when `reading`) variables set but empty left out, so they
/// take their default as unset ones do.
fn command<S: CommandFactory>(reading: bool) -> Command {
    S::command()
        .mut_args(|arg| {
            let Some(env) = arg.get_env().and_then(OsStr::to_str).map(str::to_owned) else {
                return arg;
            };
            let empty = reading
                && std::env::var_os(&env)
                    .is_some_and(|value| value.to_string_lossy().trim().is_empty());
            let arg = arg
                .long(env.to_ascii_lowercase().replace('_', "-"))
                .value_name(env);
            if empty { arg.env(None) } else { arg }
        })
        .arg(
            Arg::new(PRINT_SETTINGS)
                .long(PRINT_SETTINGS)
                .value_name("FORMAT")
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("env")
                .value_parser(["env", "json"])
                .action(ArgAction::Set)
                .help("List every setting (its variable, default and meaning) and exit"),
        )
}

/// The settings as an environment file: each one's meaning, then `NAME=default`.
fn env_file(command: &Command, settings: &[Setting]) -> String {
    let mut text = format!(
        "# {}: every setting, read from its environment variable (or the flag of the same name,\n\
         # `--db-pool-size` for DB_POOL_SIZE). Unset or empty, a variable takes the value shown.\n",
        command.get_name()
    );
    for setting in settings {
        text.push('\n');
        for line in wrap(&setting.help, 96) {
            text.push_str("# ");
            text.push_str(&line);
            text.push('\n');
        }
        if setting.secret {
            text.push_str("# (a secret: never printed or logged)\n");
        }
        text.push_str(&format!(
            "{}={}\n",
            setting.name,
            setting.default.as_deref().unwrap_or_default()
        ));
    }
    text
}

/// The settings as a JSON array of `{name, default, help, secret}`.
fn json(settings: &[Setting]) -> String {
    let list: Vec<serde_json::Value> = settings
        .iter()
        .map(|setting| {
            serde_json::json!({
                "name": setting.name,
                "default": setting.default,
                "help": setting.help,
                "secret": setting.secret,
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string() + "\n"
}

/// `text`'s words in lines of at most `width` characters (a longer word gets a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

#[expect(clippy::print_stdout, reason = "--print-settings answers on stdout")]
fn print(text: &str) {
    print!("{text}");
}

/// A setting whose value must not reach a log line: its `Debug` is `<redacted>`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self(value.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A comma-separated list (`a, b,c`): its items trimmed, empty ones dropped.
pub fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The exit code for [`Exit`], for a `main` that returns one.
impl From<Exit> for ExitCode {
    fn from(Exit(code): Exit) -> Self {
        ExitCode::from(u8::try_from(code).unwrap_or(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseSettings;

    /// A binary's settings in small: one of its own, one secret, and a shared group.
    #[derive(Debug, Parser)]
    #[command(name = "example")]
    struct Example {
        /// Where it listens.
        #[arg(long, env = "EXAMPLE_ADDR", default_value = "127.0.0.1:1")]
        addr: std::net::SocketAddr,
        /// What it signs with.
        #[arg(long, env = "EXAMPLE_SECRET", hide_env_values = true)]
        secret: Option<Secret>,
        #[command(flatten)]
        database: DatabaseSettings,
    }

    #[test]
    fn every_setting_is_listed_with_its_variable_default_and_meaning() {
        let listed = list::<Example>();
        let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["EXAMPLE_ADDR", "EXAMPLE_SECRET", "PG_URL", "DB_POOL_SIZE"]
        );
        assert_eq!(listed[0].default.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(listed[0].help, "Where it listens");
        assert_eq!(
            (listed[1].default.as_deref(), listed[1].secret),
            (None, true)
        );
        assert_eq!(listed[3].default.as_deref(), Some("8"));
    }

    #[test]
    fn each_setting_is_also_a_flag_named_after_its_variable() {
        let parsed: Example = try_parse(["example", "--db-pool-size=3", "--example-secret", "s3"])
            .unwrap_or_else(|Exit(code)| panic!("exit {code}"));
        assert_eq!(parsed.database.pool_size, 3);
        assert_eq!(parsed.secret.as_ref().map(Secret::expose), Some("s3"));
        // The secret stays out of anything that logs the settings.
        assert!(!format!("{parsed:?}").contains("s3"));
    }

    #[test]
    fn a_value_that_does_not_parse_stops_the_binary() {
        let refused = try_parse::<Example, _, _>(["example", "--db-pool-size=many"]);
        assert!(matches!(refused, Err(Exit(2))));
    }

    #[test]
    fn the_listing_reads_as_an_environment_file() {
        let text = env_file(&Example::command(), &list::<Example>());
        assert!(text.contains("# Where it listens\nEXAMPLE_ADDR=127.0.0.1:1\n"));
        assert!(text.contains("# (a secret: never printed or logged)\nEXAMPLE_SECRET=\n"));
        let json: serde_json::Value =
            serde_json::from_str(&json(&list::<Example>())).expect("JSON");
        assert_eq!(json[3]["name"], "DB_POOL_SIZE");
    }
}
