//! The `conference` command-line tool: a thin adapter that parses arguments, calls the
//! application layer and prints the result for a person (tables) or a script (`--json`:
//! one JSON object per invocation; errors as `{"error":{"code","message","field"?}}`).
#![forbid(unsafe_code)]

mod args;
mod render;

use anyhow::Context;
use args::{
    AllotmentCommand, Cli, Command, ConferenceCommand, ExportCommand, OrderCommand, PromoCommand,
    SeatTypeCommand,
};
use clap::Parser;
use conference_app::{App, AppError, Ctx, NewConference, NewPromoCode, PaymentInput, SaleInput};
use conference_domain::{CommandId, Timestamp};
use conference_protocol::ErrorBody;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the CLI on the process's arguments.
pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONFERENCE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints usage errors and help in its own format.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let json = cli.json;
    let mut stdout = std::io::stdout().lock();
    match run(cli) {
        Ok(output) => {
            let text = if json {
                serde_json::to_string_pretty(&output.json).unwrap_or_default()
            } else {
                printable(&output.human)
            };
            let _ = writeln!(stdout, "{}", text.trim_end());
            ExitCode::SUCCESS
        }
        Err(error) => {
            let body = error.body();
            if json {
                let _ = writeln!(
                    stdout,
                    "{}",
                    serde_json::to_string_pretty(&json!({ "error": body })).unwrap_or_default()
                );
            } else {
                eprintln!("error: {}", printable(&body.message));
            }
            ExitCode::FAILURE
        }
    }
}

/// Text for a terminal: names and messages come from other devices and the server, so
/// control characters (escape sequences that could move the cursor, recolour or retitle
/// the terminal) and bidirectional overrides are dropped; lines and tabs stay.
#[must_use]
pub fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| {
            *c == '\n'
                || *c == '\t'
                || !(c.is_control()
                    || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        })
        .collect()
}

/// What a command prints: a text for people and a JSON object for scripts.
pub struct Output {
    pub human: String,
    pub json: serde_json::Value,
}

impl Output {
    fn new(human: String, json: impl serde::Serialize) -> Self {
        Self {
            human,
            json: serde_json::to_value(json).unwrap_or_default(),
        }
    }
}

/// A failure to show a person: a stable code and a sentence.
#[derive(Debug)]
pub struct CliError(ErrorBody);

impl CliError {
    fn body(&self) -> &ErrorBody {
        &self.0
    }
    fn new(code: &str, message: impl Into<String>) -> Self {
        Self(ErrorBody::new(code, message))
    }
}

/// The command-line flag that gives the input an error is about, for the inputs whose flag
/// is the same in every command. The application's messages name inputs, not flags: the
/// desktop has no flags.
fn flag_for(field: &str) -> Option<&'static str> {
    Some(match field {
        "start" => "--start",
        "end" => "--end",
        "seats" => "--seat \"NAME=QUANTITY\"",
        "method" => "--method",
        "payment" => "--method cash [--tendered AMOUNT] or --method card --reference REF",
        "tendered" => "--tendered",
        "reference" => "--reference",
        "discount" => "--percent or --amount",
        _ => return None,
    })
}

impl From<AppError> for CliError {
    fn from(e: AppError) -> Self {
        let mut body = e.body();
        if let Some(flag) = body.field.as_deref().and_then(flag_for) {
            body.message = format!("{} ({flag})", body.message);
        }
        Self(body)
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::new("io_error", format!("{e:#}"))
    }
}

fn default_store() -> Result<PathBuf, CliError> {
    if let Ok(path) = std::env::var("CONFERENCE_STORE")
        && !path.trim().is_empty()
    {
        return Ok(PathBuf::from(path));
    }
    directories::ProjectDirs::from("org", "Contoso", "conference")
        .map(|d| d.data_dir().join("store.db"))
        .ok_or_else(|| {
            CliError::new(
                "no_data_dir",
                "No data folder could be found for this user; pass --store PATH",
            )
        })
}

fn parse_time(text: &str, flag: &str) -> Result<Timestamp, CliError> {
    conference_app::input::parse_time(text).ok_or_else(|| {
        CliError::new(
            "invalid_time",
            format!(
                "{flag} `{}` is not a time; write it like 2026-05-04T09:00:00Z or 2026-05-04",
                text.trim()
            ),
        )
    })
}

fn run(cli: Cli) -> Result<Output, CliError> {
    let store = match cli.store {
        Some(path) => path,
        None => default_store()?,
    };
    let now = match cli.now.as_deref() {
        Some(text) => parse_time(text, "--now")?,
        None => chrono::Utc::now(),
    };
    let command_id = match cli.command_id.as_deref() {
        Some(text) => CommandId::parse(text).map_err(|_| {
            CliError::new(
                "invalid_command_id",
                format!("--command-id `{text}` is not a UUID"),
            )
        })?,
        None => conference_app::new_command_id(),
    };
    let ctx = Ctx { command_id, now };
    let mut upgrading = false;
    let mut app = App::open_upgrading(&store, &mut |p| {
        // A V1 store is upgraded once, in place, on its first open by this version.
        upgrading = true;
        let percent = (p.done * 100).checked_div(p.total).unwrap_or(100);
        eprint!(
            "\rUpgrading this V1 store to V2: {percent:>3}% ({} of {} steps)",
            p.done, p.total
        );
    })?;
    if upgrading {
        eprintln!();
    }
    if let Command::Sync { follow: true, poll } = cli.command {
        let fixed_now = cli.now.is_some().then_some(now);
        return follow(&mut app, poll, fixed_now, cli.json);
    }
    dispatch(&mut app, &ctx, cli.command)
}

/// `sync --follow`: syncs as the server's feed announces news, a line per sync, until
/// stopped (or refused).
fn follow(
    app: &mut App,
    poll: u64,
    fixed_now: Option<chrono::DateTime<chrono::Utc>>,
    json: bool,
) -> Result<Output, CliError> {
    transport(app)?;
    let link = enrolled(app)?;
    eprintln!("Following {}; stop with Ctrl-C.", link.url);
    let stopped = app.follow(
        &link,
        std::time::Duration::from_secs(poll),
        || fixed_now.unwrap_or_else(chrono::Utc::now),
        |outcome| {
            let mut stdout = std::io::stdout().lock();
            let line = match (outcome, json) {
                (Ok(report), true) => serde_json::to_string(report).unwrap_or_default(),
                (Ok(report), false) => {
                    printable(&render::sync_report(report).trim_end().replace('\n', " "))
                }
                (Err(e), true) => {
                    serde_json::to_string(&json!({ "error": e.body() })).unwrap_or_default()
                }
                (Err(e), false) => printable(&format!("Sync failed: {e} (retrying)")),
            };
            // A closed stdout (the reader went away) ends the follow.
            writeln!(stdout, "{line}")
                .and_then(|()| stdout.flush())
                .is_ok()
        },
    );
    match stopped {
        conference_app::feed::Stopped::Asked => Ok(Output::new(
            "Stopped following.".into(),
            json!({ "stopped": true }),
        )),
        conference_app::feed::Stopped::Refused(e) => Err(e.into()),
    }
}

fn dispatch(app: &mut App, ctx: &Ctx, command: Command) -> Result<Output, CliError> {
    Ok(match command {
        Command::Init { device_name } => {
            let name = device_name.unwrap_or_else(|| "this device".to_string());
            let device = app.init_or_open(&name, ctx.now)?;
            Output::new(render::device(&device), &device)
        }
        Command::Conference(c) => match c {
            ConferenceCommand::Create(a) => {
                let view = app.create_conference(
                    ctx,
                    NewConference {
                        slug: a.slug,
                        name: a.name,
                        description: a.description.unwrap_or_default(),
                        location: a.location.unwrap_or_default(),
                        start: Some(parse_time(&a.start, "--start")?),
                        end: Some(parse_time(&a.end, "--end")?),
                        owner_name: a.owner_name,
                        owner_email: a.owner_email,
                        currency: a.currency,
                    },
                )?;
                Output::new(render::conference(&view), &view)
            }
            ConferenceCommand::Publish { slug } => {
                let view = app.publish(ctx, &slug, true)?;
                Output::new(format!("Published {}.\n", view.slug), &view)
            }
            ConferenceCommand::Unpublish { slug } => {
                let view = app.publish(ctx, &slug, false)?;
                Output::new(format!("Unpublished {}.\n", view.slug), &view)
            }
            ConferenceCommand::List => {
                let list = app.conferences()?;
                Output::new(render::conferences(&list), json!({ "conferences": list }))
            }
            ConferenceCommand::Show { slug } => {
                let view = app.conference(&slug)?;
                Output::new(render::conference(&view), &view)
            }
        },
        Command::SeatType(c) => match c {
            SeatTypeCommand::Add(a) => {
                let view = app.add_seat_type(
                    ctx,
                    &a.slug,
                    &a.name,
                    a.description.as_deref().unwrap_or_default(),
                    &a.price,
                    a.quantity,
                )?;
                Output::new(render::conference(&view), &view)
            }
            SeatTypeCommand::Update(a) => {
                let view = app.update_seat_type(
                    ctx,
                    &a.slug,
                    &a.name,
                    a.rename,
                    a.description,
                    a.price.as_deref(),
                    a.quantity,
                )?;
                Output::new(render::conference(&view), &view)
            }
        },
        Command::Promo(PromoCommand::Add(a)) => {
            let view = app.add_promo_code(
                ctx,
                &a.slug,
                &NewPromoCode {
                    code: a.code,
                    percent: a.percent,
                    amount: a.amount,
                    scope: a.scope,
                    max_uses: a.max_uses,
                    exclusive: a.exclusive,
                },
            )?;
            Output::new(render::conference(&view), &view)
        }
        Command::Seats { slug } => {
            let view = app.seats(&slug)?;
            Output::new(render::seats(&view), &view)
        }
        Command::Order(c) => {
            let view = match c {
                OrderCommand::Place { slug, seat, promo } => {
                    app.place_order(ctx, &slug, &seat, &promo)?
                }
                OrderCommand::Update { id, seat, promo } => {
                    app.update_order(ctx, &id, &seat, &promo)?
                }
                OrderCommand::Registrant { id, person } => {
                    app.assign_registrant(ctx, &id, &person.first, &person.last, &person.email)?
                }
                OrderCommand::Pay {
                    id,
                    method,
                    tendered,
                    reference,
                } => app.pay(
                    ctx,
                    &id,
                    &PaymentInput {
                        method,
                        tendered,
                        reference,
                    },
                )?,
                OrderCommand::Confirm { id } => app.confirm(ctx, &id)?,
                OrderCommand::Cancel { id, reason } => app.cancel(ctx, &id, reason.as_deref())?,
                OrderCommand::Show { id } => app.order_by_text(&id)?,
                OrderCommand::Find { email, access_code } => {
                    app.find_order(&email, &access_code)?
                }
                OrderCommand::Assign {
                    id,
                    position,
                    person,
                } => app.assign_seat(
                    ctx,
                    &id,
                    position,
                    &person.first,
                    &person.last,
                    &person.email,
                )?,
                OrderCommand::Unassign { id, position } => app.unassign_seat(ctx, &id, position)?,
            };
            Output::new(render::order(&view), &view)
        }
        Command::Orders { slug } => {
            let list = app.orders(slug.as_deref())?;
            Output::new(render::orders(&list), json!({ "orders": list }))
        }
        Command::Sell(a) => {
            let registrant = match (a.first, a.last, a.email) {
                (None, None, None) => None,
                (Some(f), Some(l), Some(e)) => Some((f, l, e)),
                _ => {
                    return Err(CliError::new(
                        "incomplete_registrant",
                        "A registrant needs all of --first, --last and --email (or none of them)",
                    ));
                }
            };
            let view = app.sell(
                ctx,
                &SaleInput {
                    slug: a.slug,
                    seats: a.seat,
                    promo_codes: a.promo,
                    registrant,
                    payment: a.method.map(|method| PaymentInput {
                        method,
                        tendered: a.tendered,
                        reference: a.reference,
                    }),
                    allow_override: a.r#override,
                },
            )?;
            Output::new(render::order(&view), &view)
        }
        Command::Tick => {
            let report = app.tick(ctx)?;
            Output::new(
                format!(
                    "Ran {} scheduled command(s); {} order(s) expired.\n",
                    report.ran,
                    report.expired_orders.len()
                ),
                &report,
            )
        }
        Command::Export(ExportCommand::Orders {
            slug,
            format,
            output,
        }) => {
            if !format.eq_ignore_ascii_case("csv") {
                return Err(CliError::new(
                    "unsupported_format",
                    format!("`{format}` is not an export format; use --format csv"),
                ));
            }
            let csv = app.export_orders_csv(&slug)?;
            let rows = csv.lines().count().saturating_sub(1);
            match output {
                None => Output::new(
                    csv.clone(),
                    json!({ "format": "csv", "rows": rows, "csv": csv }),
                ),
                Some(path) => {
                    write_atomically(&path, csv.as_bytes())?;
                    Output::new(
                        format!("Wrote {rows} row(s) to {}.\n", path.display()),
                        json!({ "format": "csv", "rows": rows, "path": path }),
                    )
                }
            }
        }
        Command::Enroll {
            code,
            file,
            insecure_http,
        } => {
            let code = match (code, file) {
                (_, Some(path)) => std::fs::read_to_string(&path).map_err(|e| {
                    CliError::new(
                        "invalid_enrollment_code",
                        format!("Cannot read {}: {e}", path.display()),
                    )
                })?,
                (Some(code), None) if code != "-" => code,
                _ => {
                    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                        eprintln!("Paste the enrollment code, then press Enter:");
                    }
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map_err(|e| {
                        CliError::new(
                            "invalid_enrollment_code",
                            format!("Cannot read standard input: {e}"),
                        )
                    })?;
                    line
                }
            };
            let link = app.enroll(&code, insecure_http)?;
            let trust = match &link.pin {
                Some(pin) => format!("its certificate is pinned (sha256 {pin})"),
                None if link.url.starts_with("https://") => {
                    "its certificate must be signed by a public authority".to_string()
                }
                None => "plain HTTP".to_string(),
            };
            Output::new(
                format!(
                    "Enrolled with {}; {trust}. Run `conference sync` to sync.\n",
                    link.url
                ),
                json!({ "server": link.url, "pinned_sha256": link.pin, "insecure_http": link.insecure_http }),
            )
        }
        Command::Sync { .. } => {
            let transport = transport(app)?;
            let report = app.sync(&transport, ctx.now)?;
            Output::new(render::sync_report(&report), &report)
        }
        Command::Allotment(AllotmentCommand::Request { slug, seat }) => {
            let transport = transport(app)?;
            let (granted, report) = app.request_allotment(&transport, ctx, &slug, &seat)?;
            let seats = app.seats(&slug)?;
            Output::new(
                render::allotment(&granted, &seats, &report),
                json!({ "granted": granted, "seats": seats, "sync": report }),
            )
        }
        Command::Allotment(AllotmentCommand::Return { slug, seat }) => {
            app.return_allotment(ctx, &slug, &seat)?;
            let report = match app.sync_settings()? {
                Some(_) => {
                    let transport = transport(app)?;
                    Some(app.sync(&transport, ctx.now)?)
                }
                None => None,
            };
            let seats = app.seats(&slug)?;
            Output::new(
                format!(
                    "Returned; the pool takes the seats when this device syncs.\n{}",
                    render::seats(&seats)
                ),
                json!({ "seats": seats, "sync": report }),
            )
        }
        Command::Reconciliation => {
            let transport = transport(app)?;
            let items = app.reconciliation(&transport)?;
            Output::new(render::reconciliation(&items), json!({ "items": items }))
        }
        Command::Status => {
            let status = app.status()?;
            Output::new(render::status(&status), &status)
        }
        Command::Rebuild { read_model } => {
            let started = std::time::Instant::now();
            let mut last_shown = 0;
            let what = read_model.as_deref().unwrap_or("read models").to_string();
            let progress = |done: u64, total: u64| {
                if total > 0 && (done == total || done - last_shown >= total / 20) {
                    last_shown = done;
                    eprint!("\rrebuilding {what}: {done}/{total} events");
                }
            };
            let count = match &read_model {
                Some(name) => app.rebuild_one(name, progress)?,
                None => app.rebuild(progress)?,
            };
            eprintln!();
            let which = match &read_model {
                Some(name) => format!("the {name} read model"),
                None => "every read model".to_string(),
            };
            Output::new(
                format!(
                    "Rebuilt {which} from {count} events in {:.1?}.\n",
                    started.elapsed()
                ),
                json!({ "events": count, "read_model": read_model }),
            )
        }
    })
}

/// Where this device syncs, from its enrollment.
fn enrolled(app: &App) -> Result<conference_app::ServerLink, CliError> {
    app.sync_settings()?.ok_or_else(|| {
        CliError::new(
            "not_connected",
            "This device is not enrolled with a sync server yet; run `conference enroll` with the code the server's admin printed (`conference-sync device add --server URL`)",
        )
    })
}

/// The sync transport for the server this device was enrolled with.
fn transport(app: &App) -> Result<conference_app::http::HttpTransport, CliError> {
    let link = enrolled(app)?;
    conference_app::http::HttpTransport::new(&link).map_err(|e| CliError::from(AppError::from(e)))
}

/// Writes a file so that a crash leaves either the old file or the whole new one.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.partial",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("export")
    ));
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{AppError, CliError, printable};
    use conference_domain::{conference, payment};

    #[test]
    fn the_cli_names_the_flag_of_the_input_an_error_is_about() {
        let e = CliError::from(AppError::domain(payment::Error::CardReferenceMissing));
        assert_eq!(
            e.body().message,
            "A card payment needs the terminal's reference (--reference)"
        );
        assert_eq!(e.body().field.as_deref(), Some("reference"));
        let e = CliError::from(AppError::domain(conference::Error::EndBeforeStart));
        assert_eq!(
            e.body().message,
            "The conference ends before it starts; check its start and end (--end)"
        );
        let e = CliError::from(AppError::rejected("payment_required", "Pay").with_field("payment"));
        assert_eq!(
            e.body().message,
            "Pay (--method cash [--tendered AMOUNT] or --method card --reference REF)"
        );
        // An input whose flag differs between commands, or no input: the message as it is.
        let e = CliError::from(AppError::invalid("email", "Not an email").with_field("email"));
        assert_eq!(e.body().message, "Not an email");
        let e = CliError::from(AppError::not_found("unknown_order", "No such order"));
        assert_eq!(e.body().message, "No such order");
    }

    #[test]
    fn printed_text_keeps_no_terminal_controls() {
        assert_eq!(
            printable("Dev\u{1b}]0;pwned\u{7}Conf\u{1b}[2J\tFull\u{202e}lluF\n\u{9b}31m"),
            "Dev]0;pwnedConf[2J\tFulllluF\n31m"
        );
        assert_eq!(
            printable("Grace Hopper — 120.00 €"),
            "Grace Hopper — 120.00 €"
        );
    }
}
