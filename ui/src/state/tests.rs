use super::*;
use conference_desktop_ipc::SeatPick;
use conference_desktop_ipc::protocol::SeatsView;

fn err(code: &str) -> ErrorBody {
    ErrorBody {
        code: code.into(),
        message: "x".into(),
        field: None,
    }
}

fn run<S: Reduce>(state: S, actions: impl IntoIterator<Item = S::Action>) -> S {
    actions.into_iter().fold(state, S::reduce)
}

#[test]
fn a_call_is_busy_until_its_answer_and_keeps_the_latest() {
    let call = Call::<u32>::default().reduce(CallAction::Ask(1));
    assert!(call.busy);
    assert_eq!(call.answer(), None);

    let call = call.reduce(CallAction::Answer(1, Ok(7)));
    assert!(!call.busy);
    assert_eq!(call.answer(), Some(Ok(&7)));

    // Asking again keeps the last answer on screen until the new one comes.
    let call = call.reduce(CallAction::Ask(2));
    assert!(call.busy);
    assert_eq!(call.result, Some(7));

    let call = call.reduce(CallAction::Answer(2, Err(err("invalid"))));
    assert!(!call.busy);
    assert_eq!(call.result, Some(7), "what was read before stays");
    assert_eq!(call.answer(), Some(Err(&err("invalid"))));

    // A success clears the error.
    let call = run(call, [CallAction::Ask(3), CallAction::Answer(3, Ok(9))]);
    assert_eq!(call.error, None);
    assert_eq!(call.result, Some(9));
}

#[test]
fn an_answer_to_an_older_ask_is_dropped() {
    // Asked twice (the cart changed): the first answer comes last and is not shown.
    let call = run(
        Call::<u32>::default(),
        [
            CallAction::Ask(1),
            CallAction::Ask(2),
            CallAction::Answer(2, Ok(2)),
            CallAction::Answer(1, Ok(1)),
        ],
    );
    assert_eq!(call.result, Some(2));
    assert!(!call.busy);

    // The older answer coming first leaves the call busy with the newer one.
    let call = run(
        Call::<u32>::default(),
        [
            CallAction::Ask(1),
            CallAction::Ask(2),
            CallAction::Answer(1, Err(err("old"))),
        ],
    );
    assert!(call.busy);
    assert_eq!(call.answer(), None);
}

#[test]
fn forgetting_clears_the_answer_and_drops_those_on_their_way() {
    let call = run(
        Call::<u32>::default(),
        [
            CallAction::Ask(1),
            CallAction::Answer(1, Ok(1)),
            CallAction::Ask(2),
            CallAction::Forget(3),
            CallAction::Answer(2, Ok(2)),
        ],
    );
    assert_eq!(call, Call::default().reduce(CallAction::Forget(3)));
    assert!(!call.busy);
    assert_eq!(call.answer(), None);
}

fn order(code: &str) -> OrderView {
    OrderView {
        id: Default::default(),
        conference: "devconf".into(),
        access_code: code.into(),
        status: "confirmed".into(),
        seats: vec![],
        lines: vec![],
        total: "0".into(),
        currency: "EUR".into(),
        is_free_of_charge: true,
        promo_codes: vec![],
        registrant: None,
        payment: None,
        assignments: vec![],
        reservation_expires_at: String::new(),
        placed_at: String::new(),
        device_id: Default::default(),
        over_allotment: false,
        cancel_reason: None,
        cancellable: false,
        refund_on_cancel: false,
    }
}

#[test]
fn the_door_sells_then_starts_a_new_sale_with_the_same_seat_types() {
    let door = run(
        Door::default(),
        [
            DoorAction::Cart(CartAction::Offer(vec!["Full".into(), "Student".into()])),
            DoorAction::Cart(CartAction::Increment("Full".into())),
            DoorAction::Cart(CartAction::TypePromo("early".into())),
            DoorAction::Cart(CartAction::ApplyPromo),
        ],
    );
    assert_eq!(door.cart.seat_count(), 1);
    assert_eq!(door.cart.promo_codes, ["EARLY"]);
    assert_eq!(door.receipt, None);

    let sold = door.reduce(DoorAction::Sold(Receipt {
        order: order("ABC123"),
        elapsed_ms: 12.5,
    }));
    let receipt = sold.receipt.clone().expect("a receipt");
    assert_eq!(receipt.order.access_code, "ABC123");
    assert_eq!(receipt.elapsed_ms, 12.5);
    // The cart stays as it was until the next sale starts.
    assert_eq!(sold.cart.seat_count(), 1);

    let next = sold.reduce(DoorAction::NewSale);
    assert_eq!(next.receipt, None);
    assert_eq!(next.cart.seat_count(), 0);
    assert!(next.cart.promo_codes.is_empty());
    assert_eq!(next.cart.quantity("Student"), 0);
    assert_eq!(next.cart.quantities.len(), 2);
}

#[test]
fn a_new_conference_starts_in_euros_and_takes_what_is_typed() {
    let draft = run(
        ConferenceDraft::default(),
        [
            (
                (|f, v| f.name = v) as Setter<ConferenceForm>,
                "DevConf".into(),
            ),
            (
                (|f, v| f.slug = v) as Setter<ConferenceForm>,
                "devconf".into(),
            ),
        ],
    );
    assert_eq!(draft.0.currency, "EUR");
    assert_eq!(draft.0.name, "DevConf");
    assert_eq!(draft.0.slug, "devconf");
}

#[test]
fn a_seat_type_is_edited_then_the_form_is_empty_again() {
    let full = SeatTypeForm {
        name: "Full".into(),
        description: "Both days".into(),
        price: "120".into(),
        quantity: "50".into(),
    };
    let draft = run(
        SeatTypeDraft::default(),
        [
            SeatTypeAction::Edit(full.clone()),
            SeatTypeAction::Set(|f, v| f.price = v, "99".into()),
        ],
    );
    assert_eq!(draft.editing.as_deref(), Some("Full"));
    assert_eq!(
        draft.form,
        SeatTypeForm {
            price: "99".into(),
            ..full
        }
    );
    // Renaming while editing still changes the seat type it started from.
    let renamed = draft.reduce(SeatTypeAction::Set(|f, v| f.name = v, "Fuller".into()));
    assert_eq!(renamed.editing.as_deref(), Some("Full"));
    assert_eq!(
        renamed.reduce(SeatTypeAction::Reset),
        SeatTypeDraft::default()
    );
}

#[test]
fn a_promo_code_is_scoped_by_ticking_seat_types() {
    let draft = run(
        PromoDraft::default(),
        [
            PromoAction::Set(|f, v| f.code = v, "EARLY".into()),
            PromoAction::Set(|f, v| f.kind = v, "amount".into()),
            PromoAction::Scope("Full".into(), true),
            PromoAction::Scope("Student".into(), true),
            PromoAction::Scope("Full".into(), false),
            PromoAction::Scope("Student".into(), true),
            PromoAction::Exclusive(true),
        ],
    );
    assert_eq!(draft.0.code, "EARLY");
    assert_eq!(draft.0.kind, "amount");
    assert_eq!(draft.0.scope, ["Student"]);
    assert!(draft.0.exclusive);
    let added = draft.reduce(PromoAction::Reset);
    assert_eq!(added.0.kind, "percent");
    assert_eq!(added, PromoDraft::default());
}

#[test]
fn the_enrollment_code_leaves_the_form_once_used() {
    let form = run(
        Enrollment::default(),
        [
            EnrollAction::Code("CONF1-abc".into()),
            EnrollAction::Insecure(true),
        ],
    );
    assert_eq!(form.0.code, "CONF1-abc");
    assert!(form.0.insecure_http);
    assert_eq!(form.reduce(EnrollAction::Enrolled), Enrollment::default());
}

#[test]
fn a_rename_shows_saved_until_the_name_is_typed_again() {
    let rename = run(Rename::default(), [RenameAction::Type("Door 2".into())]);
    assert_eq!(rename.typed.as_deref(), Some("Door 2"));

    let refused = rename.clone().reduce(RenameAction::Answered(false));
    assert_eq!(refused.typed.as_deref(), Some("Door 2"));
    assert!(!refused.saved);

    let saved = rename.reduce(RenameAction::Answered(true));
    assert_eq!(saved.typed, None);
    assert!(saved.saved);
    let typing = saved.reduce(RenameAction::Type("Door 3".into()));
    assert!(!typing.saved);
}

fn done(seats: &[(&str, u32)]) -> AllotmentDone {
    AllotmentDone {
        seats: seats
            .iter()
            .map(|(name, quantity)| SeatPick {
                name: (*name).into(),
                quantity: *quantity,
            })
            .collect(),
        synced: true,
        availability: SeatsView {
            conference: "devconf".into(),
            currency: "EUR".into(),
            seat_types: vec![],
        },
    }
}

#[test]
fn an_allotment_request_clears_what_was_typed_when_it_is_granted() {
    let typed = run(
        Allotment::default(),
        [
            AllotmentAction::Offer(vec!["Full".into(), "Student".into()]),
            AllotmentAction::Type("Full".into(), "10".into()),
            AllotmentAction::Ask(true),
        ],
    );
    assert_eq!(typed.busy_text(), Some("Asking the server…"));

    let granted = typed
        .clone()
        .reduce(AllotmentAction::Answered(Ok(done(&[("Full", 10)]))));
    assert_eq!(granted.busy_text(), None);
    assert_eq!(granted.picks.typed("Full"), "");
    assert_eq!(granted.picks.0.len(), 2);
    assert_eq!(granted.outcome, Some(Ok((true, done(&[("Full", 10)])))));

    // Refused: what was typed stays, to correct it.
    let refused = typed.reduce(AllotmentAction::Answered(Err("offline".into())));
    assert_eq!(refused.picks.typed("Full"), "10");
    assert_eq!(refused.outcome, Some(Err("offline".into())));
}

#[test]
fn giving_seats_back_is_told_apart_from_asking() {
    let back = run(
        Allotment::default(),
        [
            AllotmentAction::Offer(vec!["Full".into()]),
            AllotmentAction::Type("Full".into(), "3".into()),
            AllotmentAction::Ask(false),
        ],
    );
    assert_eq!(back.busy_text(), Some("Giving seats back…"));
    let back = back.reduce(AllotmentAction::Answered(Ok(done(&[("Full", 3)]))));
    assert_eq!(back.outcome, Some(Ok((false, done(&[("Full", 3)])))));

    let refused = back.reduce(AllotmentAction::Refused("Enter how many".into()));
    assert_eq!(refused.outcome, Some(Err("Enter how many".into())));
    assert_eq!(refused.busy_text(), None);
}

#[test]
fn an_export_forgets_its_last_outcome_when_it_starts_again() {
    let wrote = ExportDone {
        path: "/tmp/orders.csv".into(),
        rows: 3,
        bytes: 120,
    };
    let export = run(
        Export::default(),
        [
            ExportAction::Path("/tmp/orders.csv".into()),
            ExportAction::Start,
            ExportAction::Done(Ok(wrote.clone())),
        ],
    );
    assert_eq!(export.path.as_deref(), Some("/tmp/orders.csv"));
    assert_eq!(export.outcome, Some(Ok(wrote)));
    assert_eq!(export.error(), None);

    let failed = export.reduce(ExportAction::ChooseFailed(err("internal")));
    assert_eq!(failed.error(), Some(err("internal")));
    let again = failed.reduce(ExportAction::Start);
    assert_eq!(again.outcome, None);
    assert_eq!(again.path.as_deref(), Some("/tmp/orders.csv"));
}

#[test]
fn resolving_an_item_reads_the_queue_again() {
    let queue = run(
        Queue::default(),
        [QueueAction::Refresh, QueueAction::Resolve(7)],
    );
    assert_eq!(queue.round, 1);
    assert_eq!(queue.resolving, Some(7));
    let queue = queue.reduce(QueueAction::Resolved);
    assert_eq!(queue.resolving, None);
    assert_eq!(queue.round, 2);
}

#[test]
fn an_attendee_is_typed_for_the_seat_picked_and_the_form_closes_once_assigned() {
    let draft = run(
        AttendeeDraft::default(),
        [
            AttendeeAction::Pick(0),
            AttendeeAction::Set(|p, v| p.first_name = v, "Ada".into()),
            AttendeeAction::Pick(1),
            AttendeeAction::Set(|p, v| p.email = v, "ada@example.com".into()),
        ],
    );
    // Picking another seat starts its form empty.
    assert_eq!(draft.position, Some(1));
    assert_eq!(draft.person.first_name, "");
    assert_eq!(draft.person.email, "ada@example.com");
    assert_eq!(
        draft.reduce(AttendeeAction::Assigned),
        AttendeeDraft::default()
    );
}
