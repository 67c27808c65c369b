//! The command line, as clap sees it.
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "conference",
    version,
    about = "Offline-first conference box office: set up conferences, sell seats at the door, reconcile orders.",
    after_help = "Start with `conference init`, then `conference conference create --help`."
)]
pub struct Cli {
    /// The store file (default: your data folder, or $CONFERENCE_STORE).
    #[arg(long, global = true, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The time to use as now, in RFC 3339 (for scripts and tests).
    #[arg(long, global = true, value_name = "RFC3339")]
    pub now: Option<String>,
    /// The command's id; running the same id again returns the first outcome.
    #[arg(long, global = true, value_name = "UUID")]
    pub command_id: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Set up the store for this device (safe to run twice).
    Init {
        #[arg(long)]
        device_name: Option<String>,
    },
    /// Create, publish and look at conferences.
    #[command(subcommand)]
    Conference(ConferenceCommand),
    /// Add or change seat types.
    #[command(subcommand, name = "seat-type")]
    SeatType(SeatTypeCommand),
    /// Add promo codes.
    #[command(subcommand)]
    Promo(PromoCommand),
    /// Remaining seats per seat type.
    Seats { slug: String },
    /// Place, pay, confirm, cancel and look at orders.
    #[command(subcommand)]
    Order(OrderCommand),
    /// List orders, newest first.
    Orders { slug: Option<String> },
    /// The door's one-shot sale: reserve, price, pay and confirm in one step.
    Sell(SellArgs),
    /// Run scheduled commands that are due (reservation expiry).
    Tick,
    /// Export data for the back office.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Rebuild every read model from the event log, or just one.
    Rebuild {
        /// conferences, seats, promos or orders (all of them when left out).
        read_model: Option<String>,
    },
    /// Connect this device to its sync server with the enrollment code the server's admin
    /// printed (`conference-sync device add --server URL`): the server's address, this
    /// device's token and the server certificate's fingerprint, which is pinned.
    Enroll {
        /// The code; `-` or none reads it from standard input (keeps it out of the shell's
        /// history).
        code: Option<String>,
        /// Read the code from this file instead.
        #[arg(long, value_name = "PATH", conflicts_with = "code")]
        file: Option<std::path::PathBuf>,
        /// Allow a plain-HTTP server address beyond this machine: the token and every
        /// registrant's name would cross the network readable by anyone on it.
        #[arg(long)]
        insecure_http: bool,
    },
    /// Push this device's commands to the sync server and pull everyone else's (enroll
    /// first: `conference enroll`).
    Sync {
        /// Keep going: follow the server's live feed and sync whenever another device's
        /// events arrive (and at least every --poll seconds), printing a line per sync,
        /// until stopped with Ctrl-C. With --json, one JSON object per line.
        #[arg(long)]
        follow: bool,
        /// With --follow: sync at least this often, in seconds, to send this device's own
        /// new commands.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), requires = "follow")]
        poll: u64,
    },
    /// Ask the server for seats to sell offline, or give unsold ones back.
    #[command(subcommand)]
    Allotment(AllotmentCommand),
    /// Pending commands, last sync, allotment left and rejections.
    Status,
    /// The back office's reconciliation queue on the server (organizer, back office).
    Reconciliation,
}

#[derive(Subcommand, Debug)]
pub enum AllotmentCommand {
    /// Move seats from the conference pool to this device (needs the server).
    Request {
        slug: String,
        #[arg(long, required = true)]
        seat: Vec<String>,
    },
    /// Give unsold seats of this device's allotment back to the pool.
    Return {
        slug: String,
        #[arg(long, required = true)]
        seat: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConferenceCommand {
    Create(CreateConferenceArgs),
    Publish { slug: String },
    Unpublish { slug: String },
    List,
    Show { slug: String },
}

#[derive(Args, Debug)]
pub struct CreateConferenceArgs {
    /// Short name used in commands, like devconf-2026.
    #[arg(long)]
    pub slug: String,
    #[arg(long)]
    pub name: String,
    /// Start, as 2026-05-04 or 2026-05-04T09:00:00Z.
    #[arg(long)]
    pub start: String,
    #[arg(long)]
    pub end: String,
    #[arg(long)]
    pub owner_name: String,
    #[arg(long)]
    pub owner_email: String,
    #[arg(long)]
    pub description: Option<String>,
    #[arg(long)]
    pub location: Option<String>,
    /// ISO currency code (default EUR).
    #[arg(long)]
    pub currency: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum SeatTypeCommand {
    Add(AddSeatTypeArgs),
    Update(UpdateSeatTypeArgs),
}

#[derive(Args, Debug)]
pub struct AddSeatTypeArgs {
    pub slug: String,
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub price: String,
    #[arg(long)]
    pub quantity: u32,
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Args, Debug)]
pub struct UpdateSeatTypeArgs {
    pub slug: String,
    /// The seat type's current name.
    pub name: String,
    #[arg(long)]
    pub price: Option<String>,
    #[arg(long)]
    pub quantity: Option<u32>,
    #[arg(long)]
    pub description: Option<String>,
    /// A new name.
    #[arg(long)]
    pub rename: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum PromoCommand {
    Add(AddPromoArgs),
}

#[derive(Args, Debug)]
pub struct AddPromoArgs {
    pub slug: String,
    #[arg(long)]
    pub code: String,
    /// Percent off the in-scope seats.
    #[arg(long, conflicts_with = "amount", required_unless_present = "amount")]
    pub percent: Option<String>,
    /// Amount off once per order.
    #[arg(long)]
    pub amount: Option<String>,
    /// Seat type names the code applies to (default: all). Repeat for several.
    #[arg(long)]
    pub scope: Vec<String>,
    #[arg(long)]
    pub max_uses: Option<u32>,
    /// Cannot be combined with any other code.
    #[arg(long)]
    pub exclusive: bool,
}

#[derive(Args, Debug)]
pub struct PersonArgs {
    #[arg(long)]
    pub first: String,
    #[arg(long)]
    pub last: String,
    #[arg(long)]
    pub email: String,
}

#[derive(Subcommand, Debug)]
pub enum OrderCommand {
    /// Reserve seats: --seat "NAME=QTY" (repeat for several seat types).
    Place {
        slug: String,
        #[arg(long, required = true)]
        seat: Vec<String>,
        #[arg(long)]
        promo: Vec<String>,
    },
    Update {
        id: String,
        #[arg(long, required = true)]
        seat: Vec<String>,
        #[arg(long)]
        promo: Vec<String>,
    },
    Registrant {
        id: String,
        #[command(flatten)]
        person: PersonArgs,
    },
    Pay {
        id: String,
        /// cash, card or invoice.
        #[arg(long)]
        method: String,
        /// Cash handed over; the change is computed.
        #[arg(long)]
        tendered: Option<String>,
        /// The card terminal's reference.
        #[arg(long)]
        reference: Option<String>,
    },
    /// Confirm a zero-cost order (paid orders confirm when paid).
    Confirm {
        id: String,
    },
    /// Cancel an order; a paid order is refunded.
    Cancel {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    Show {
        id: String,
    },
    Find {
        #[arg(long)]
        email: String,
        #[arg(long)]
        access_code: String,
    },
    Assign {
        id: String,
        #[arg(long)]
        position: u32,
        #[command(flatten)]
        person: PersonArgs,
    },
    Unassign {
        id: String,
        #[arg(long)]
        position: u32,
    },
}

#[derive(Args, Debug)]
pub struct SellArgs {
    pub slug: String,
    #[arg(long, required = true)]
    pub seat: Vec<String>,
    #[arg(long)]
    pub promo: Vec<String>,
    #[arg(long)]
    pub first: Option<String>,
    #[arg(long)]
    pub last: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// cash, card or invoice (needed unless the order is free).
    #[arg(long)]
    pub method: Option<String>,
    #[arg(long)]
    pub tendered: Option<String>,
    #[arg(long)]
    pub reference: Option<String>,
    /// Sell beyond this device's allotment (recorded for the back office).
    #[arg(long)]
    pub r#override: bool,
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Every order of a conference, one row per order line.
    Orders {
        slug: String,
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write to this file instead of printing.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}
