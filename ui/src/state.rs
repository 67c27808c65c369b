//! Each screen's own state as a pure reducer ([`Reduce`]: an action in, the next state out)
//! and the state of one call to the shell ([`Call`]: busy, error, result, and which answer
//! is still wanted). No browser in sight: tested natively; `hooks` turns these into Yew
//! reducers and the screens only render them. Nothing here calls the shell or reads the
//! clock: what an action needs (an answer, the time a sale took) comes in the action.
use crate::logic::{Cart, CartAction, Picks};
use conference_desktop_ipc::protocol::{ErrorBody, OrderView};
use conference_desktop_ipc::{
    AllotmentDone, ConferenceForm, ExportDone, PromoForm, RegistrantForm, SeatTypeForm, ServerForm,
};

#[cfg(test)]
mod tests;

/// A state that changes only through its actions.
pub trait Reduce: Clone {
    type Action;
    #[must_use]
    fn reduce(self, action: Self::Action) -> Self;
}

impl Reduce for Cart {
    type Action = CartAction;
    fn reduce(self, action: CartAction) -> Self {
        Cart::reduce(self, action)
    }
}

/// Sets one member of a form to what was typed.
pub type Setter<F> = fn(&mut F, String);

// ------------------------------------------------------------------ a call to the shell

/// One command sent to the shell, as a screen sees it: busy until it answers, then the
/// error or the result (a failure keeps the last result, so a list read again stays on
/// screen; [`Call::answer`] tells which came last). Each ask is numbered; only the
/// answer to the latest ask is kept, so a screen that asks again (a quote while the cart
/// changes) never shows an older answer over a newer one.
#[derive(Clone, Debug, PartialEq)]
pub struct Call<T> {
    pub busy: bool,
    pub error: Option<ErrorBody>,
    pub result: Option<T>,
    asked: u64,
}

impl<T> Default for Call<T> {
    fn default() -> Self {
        Self {
            busy: false,
            error: None,
            result: None,
            asked: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum CallAction<T> {
    /// Ask number `n` was sent; earlier answers are no longer wanted.
    Ask(u64),
    /// The answer to ask number `n`.
    Answer(u64, Result<T, ErrorBody>),
    /// Forget the last answer, and drop those still on their way (asks up to `n`).
    Forget(u64),
}

impl<T> Call<T> {
    /// The latest answer, if one came.
    #[must_use]
    pub fn answer(&self) -> Option<Result<&T, &ErrorBody>> {
        match (&self.error, &self.result) {
            (Some(e), _) => Some(Err(e)),
            (None, Some(r)) => Some(Ok(r)),
            (None, None) => None,
        }
    }
}

impl<T: Clone> Reduce for Call<T> {
    type Action = CallAction<T>;
    fn reduce(mut self, action: CallAction<T>) -> Self {
        match action {
            CallAction::Ask(n) => {
                self.asked = n;
                self.busy = true;
            }
            CallAction::Answer(n, answer) if n == self.asked => {
                self.busy = false;
                match answer {
                    Ok(result) => {
                        self.result = Some(result);
                        self.error = None;
                    }
                    // The last result stays for a screen that keeps showing it.
                    Err(error) => self.error = Some(error),
                }
            }
            CallAction::Answer(..) => {}
            CallAction::Forget(n) => {
                self = Self {
                    asked: n,
                    ..Self::default()
                };
            }
        }
        self
    }
}

// ------------------------------------------------------------------ door

/// A sale and the time from asking to showing it (the e2e test reads it).
#[derive(Clone, Debug, PartialEq)]
pub struct Receipt {
    pub order: OrderView,
    pub elapsed_ms: f64,
}

/// The door: the cart being filled, then the receipt of the sale it made.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Door {
    pub cart: Cart,
    pub receipt: Option<Receipt>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DoorAction {
    Cart(CartAction),
    Sold(Receipt),
    /// From the receipt: an empty cart with the same seat types.
    NewSale,
}

impl Reduce for Door {
    type Action = DoorAction;
    fn reduce(mut self, action: DoorAction) -> Self {
        match action {
            DoorAction::Cart(action) => self.cart = self.cart.reduce(action),
            DoorAction::Sold(receipt) => self.receipt = Some(receipt),
            DoorAction::NewSale => {
                self.cart = self.cart.reduce(CartAction::Clear);
                self.receipt = None;
            }
        }
        self
    }
}

// ------------------------------------------------------------------ setup

/// A new conference as typed; the currency starts as EUR.
#[derive(Clone, Debug, PartialEq)]
pub struct ConferenceDraft(pub ConferenceForm);

impl Default for ConferenceDraft {
    fn default() -> Self {
        Self(ConferenceForm {
            currency: "EUR".into(),
            ..ConferenceForm::default()
        })
    }
}

impl Reduce for ConferenceDraft {
    type Action = (Setter<ConferenceForm>, String);
    fn reduce(mut self, (set, value): Self::Action) -> Self {
        set(&mut self.0, value);
        self
    }
}

/// The seat type form: a new one, or the one being edited (by its current name).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeatTypeDraft {
    pub form: SeatTypeForm,
    pub editing: Option<String>,
}

pub enum SeatTypeAction {
    Set(Setter<SeatTypeForm>, String),
    /// Edit an existing seat type: the form starts as it is.
    Edit(SeatTypeForm),
    /// Back to an empty form for a new seat type (cancelled, or saved).
    Reset,
}

impl Reduce for SeatTypeDraft {
    type Action = SeatTypeAction;
    fn reduce(mut self, action: SeatTypeAction) -> Self {
        match action {
            SeatTypeAction::Set(set, value) => set(&mut self.form, value),
            SeatTypeAction::Edit(form) => {
                self.editing = Some(form.name.clone());
                self.form = form;
            }
            SeatTypeAction::Reset => self = Self::default(),
        }
        self
    }
}

/// A new promo code as typed; it starts as a percentage off every seat type.
#[derive(Clone, Debug, PartialEq)]
pub struct PromoDraft(pub PromoForm);

impl Default for PromoDraft {
    fn default() -> Self {
        Self(PromoForm {
            kind: "percent".into(),
            ..PromoForm::default()
        })
    }
}

pub enum PromoAction {
    Set(Setter<PromoForm>, String),
    /// A seat type ticked or unticked.
    Scope(String, bool),
    Exclusive(bool),
    /// Added: an empty form again.
    Reset,
}

impl Reduce for PromoDraft {
    type Action = PromoAction;
    fn reduce(mut self, action: PromoAction) -> Self {
        match action {
            PromoAction::Set(set, value) => set(&mut self.0, value),
            PromoAction::Scope(name, ticked) => {
                self.0.scope.retain(|n| *n != name);
                if ticked {
                    self.0.scope.push(name);
                }
            }
            PromoAction::Exclusive(exclusive) => self.0.exclusive = exclusive,
            PromoAction::Reset => self = Self::default(),
        }
        self
    }
}

// ------------------------------------------------------------------ orders

/// The attendee being typed for one seat of an open order (none: no seat picked).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AttendeeDraft {
    pub position: Option<u32>,
    pub person: RegistrantForm,
}

pub enum AttendeeAction {
    /// "Assign" on a seat: an empty form for it.
    Pick(u32),
    Set(Setter<RegistrantForm>, String),
    /// The seat has its attendee: the form closes.
    Assigned,
}

impl Reduce for AttendeeDraft {
    type Action = AttendeeAction;
    fn reduce(self, action: AttendeeAction) -> Self {
        match action {
            AttendeeAction::Pick(position) => Self {
                position: Some(position),
                person: RegistrantForm::default(),
            },
            AttendeeAction::Set(set, value) => {
                let mut next = self;
                set(&mut next.person, value);
                next
            }
            AttendeeAction::Assigned => Self::default(),
        }
    }
}

// ------------------------------------------------------------------ settings

/// The enrollment form. The code holds this device's token: it leaves the screen once used.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Enrollment(pub ServerForm);

#[derive(Clone, Debug, PartialEq)]
pub enum EnrollAction {
    Code(String),
    Insecure(bool),
    Enrolled,
}

impl Reduce for Enrollment {
    type Action = EnrollAction;
    fn reduce(mut self, action: EnrollAction) -> Self {
        match action {
            EnrollAction::Code(code) => self.0.code = code,
            EnrollAction::Insecure(insecure) => self.0.insecure_http = insecure,
            EnrollAction::Enrolled => self = Self::default(),
        }
        self
    }
}

/// The device name as typed (none: the current name), and whether the last rename took.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rename {
    pub typed: Option<String>,
    pub saved: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RenameAction {
    Type(String),
    /// The shell's answer: renamed or not.
    Answered(bool),
}

impl Reduce for Rename {
    type Action = RenameAction;
    fn reduce(mut self, action: RenameAction) -> Self {
        match action {
            RenameAction::Type(text) => {
                self.typed = Some(text);
                self.saved = false;
            }
            RenameAction::Answered(saved) => {
                self.saved = saved;
                if saved {
                    self.typed = None;
                }
            }
        }
        self
    }
}

/// What an allotment request (`true`) or return did, or why it did not go.
pub type AllotmentOutcome = Result<(bool, AllotmentDone), String>;

/// The seats typed per seat type, the request or return on its way, and the last outcome.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Allotment {
    pub picks: Picks,
    /// `Some(true)` while asking the pool, `Some(false)` while giving back.
    pub asking: Option<bool>,
    pub outcome: Option<AllotmentOutcome>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AllotmentAction {
    /// The seat types offered now (keeps what was typed for names that stay).
    Offer(Vec<String>),
    Type(String, String),
    /// What was typed cannot be sent.
    Refused(String),
    Ask(bool),
    Answered(Result<AllotmentDone, String>),
}

impl Allotment {
    /// The text shown while a request or return is on its way.
    #[must_use]
    pub fn busy_text(&self) -> Option<&'static str> {
        self.asking.map(|request| {
            if request {
                "Asking the server…"
            } else {
                "Giving seats back…"
            }
        })
    }
}

impl Reduce for Allotment {
    type Action = AllotmentAction;
    fn reduce(mut self, action: AllotmentAction) -> Self {
        match action {
            AllotmentAction::Offer(names) => self.picks = self.picks.offer(&names),
            AllotmentAction::Type(name, text) => self.picks = self.picks.with(&name, text),
            AllotmentAction::Refused(message) => self.outcome = Some(Err(message)),
            AllotmentAction::Ask(request) => self.asking = Some(request),
            AllotmentAction::Answered(answer) => {
                let request = self.asking.take().unwrap_or(true);
                if answer.is_ok() {
                    let names: Vec<String> = self.picks.0.iter().map(|(n, _)| n.clone()).collect();
                    self.picks = Picks::default().offer(&names);
                }
                self.outcome = Some(answer.map(|done| (request, done)));
            }
        }
        self
    }
}

// ------------------------------------------------------------------ back office

/// The CSV export: the file as typed or chosen (none: the suggested one) and the last
/// outcome (an export's, or choosing a file's error).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Export {
    pub path: Option<String>,
    pub outcome: Option<Result<ExportDone, ErrorBody>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExportAction {
    /// A file typed or chosen.
    Path(String),
    ChooseFailed(ErrorBody),
    Start,
    Done(Result<ExportDone, ErrorBody>),
}

impl Export {
    #[must_use]
    pub fn error(&self) -> Option<ErrorBody> {
        match &self.outcome {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        }
    }
}

impl Reduce for Export {
    type Action = ExportAction;
    fn reduce(mut self, action: ExportAction) -> Self {
        match action {
            ExportAction::Path(path) => self.path = Some(path),
            ExportAction::ChooseFailed(error) => self.outcome = Some(Err(error)),
            ExportAction::Start => self.outcome = None,
            ExportAction::Done(outcome) => self.outcome = Some(outcome),
        }
        self
    }
}

/// The reconciliation queue: how often it was asked for again, and the item being resolved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Queue {
    pub round: u32,
    pub resolving: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum QueueAction {
    Refresh,
    Resolve(i64),
    /// The resolve answered (either way): read the queue again.
    Resolved,
}

impl Reduce for Queue {
    type Action = QueueAction;
    fn reduce(mut self, action: QueueAction) -> Self {
        match action {
            QueueAction::Refresh => self.round = self.round.wrapping_add(1),
            QueueAction::Resolve(id) => self.resolving = Some(id),
            QueueAction::Resolved => {
                self.resolving = None;
                self.round = self.round.wrapping_add(1);
            }
        }
        self
    }
}
