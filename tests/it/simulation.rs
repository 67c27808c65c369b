//! A seeded random simulation: an organizer and three doors going on- and offline, selling
//! from their allotments (sometimes past them by override, sometimes with promo codes),
//! placing, paying and cancelling orders step by step, taking and returning seats, and the
//! organizer changing prices while doors are offline, syncing through injected faults. Run for a fixed set of seeds, so every CI run explores
//! the same schedules and a failure names the seed that reproduces it.
//!
//! After every schedule: all devices converge on the same log and the same orders; no seat
//! type sells more seats than it has unless overrides were used; every command was taken by
//! the server once, and the server, replaying each with the domain code (DESIGN.md §7),
//! refused none of them: no false refusals.
use crate::faults::{Fault, Faulty};
use crate::server::Server;
use crate::sync::{Device, organizer};
use conference_app::http::HttpTransport;
use conference_app::{Ctx, PaymentInput};

/// The fixed budget: this many schedules of this many steps.
const SEEDS: [u64; 10] = [
    1, 7, 42, 1_234, 5_555, 31_337, 99_991, 271_828, 424_242, 8_675_309,
];
const STEPS: usize = 80;

/// xorshift64*: small, deterministic, good enough to pick actions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct Door {
    device: Device,
    online: bool,
    token: String,
}

fn faults(rng: &mut Rng) -> Vec<Option<Fault>> {
    (0..4)
        .map(|_| match rng.below(10) {
            0 => Some(Fault::LoseRequest),
            1 => Some(Fault::LoseResponse),
            2 => Some(Fault::Duplicate),
            _ => None,
        })
        .collect()
}

fn run(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut organizer = organizer(&server);
    let mut doors: Vec<Door> = (0..3)
        .map(|i| {
            let token = server.add_device(&format!("Door {i}"), "door", &["demo"]);
            let mut device = Device::join(&format!("Door {i}"), &token);
            device.sync();
            Door {
                device,
                online: true,
                token: token.token,
            }
        })
        .collect();
    let seat_types = ["Full", "Student", "Speaker"];
    let codes = ["TENOFF", "FIFTY", "STUDENTFREE"];
    let mut sales = 0;
    let mut overrides = 0;
    // Orders each door placed and has not cancelled, newest last.
    let mut placed: Vec<Vec<String>> = vec![Vec::new(); doors.len()];
    let now = || Ctx::new(chrono::Utc::now());
    let cash = PaymentInput {
        method: "cash".into(),
        tendered: None,
        reference: None,
    };
    // What a door may be refused locally: nothing left in its allotment, or a promo code
    // that does not apply (used up, another seat type, not alone).
    let refused_locally = |code: &str| code == "allotment_exhausted" || code.starts_with("promo_");
    for step in 0..STEPS {
        let which = usize::try_from(rng.below(3)).unwrap();
        let door = &mut doors[which];
        let seat = seat_types[usize::try_from(rng.below(3)).unwrap()];
        match rng.below(13) {
            0 => door.online = !door.online,
            1..=4 => {
                let allow_override = rng.chance(25);
                let code = rng
                    .chance(30)
                    .then(|| codes[usize::try_from(rng.below(3)).unwrap()]);
                let promo: Vec<&str> = code.into_iter().collect();
                match door
                    .device
                    .sell_with(&format!("{seat}=1"), &promo, allow_override)
                {
                    Ok(order) => {
                        sales += 1;
                        overrides += u32::from(allow_override);
                        placed[which].push(order.id.to_string());
                    }
                    Err(e) => assert!(
                        refused_locally(e.code()),
                        "seed {seed} step {step}: a sale failed with {e:?}"
                    ),
                }
            }
            9 => {
                // Step by step: place, then pay or cancel.
                match door
                    .device
                    .app
                    .place_order(&now(), "demo", &[format!("{seat}=1")], &[])
                {
                    Ok(order) => {
                        sales += 1;
                        let id = order.id.to_string();
                        if order.total == "0.00" {
                            door.device.app.confirm(&now(), &id).expect("confirm");
                        } else if rng.chance(70) {
                            door.device.app.pay(&now(), &id, &cash).expect("pay");
                        } else {
                            door.device.app.cancel(&now(), &id, None).expect("cancel");
                            continue;
                        }
                        placed[which].push(id);
                    }
                    Err(e) => assert!(
                        refused_locally(e.code()),
                        "seed {seed} step {step}: placing failed with {e:?}"
                    ),
                }
            }
            10 => {
                // A refund at the door: its newest order is cancelled.
                if let Some(id) = placed[which].pop() {
                    door.device
                        .app
                        .cancel(&now(), &id, Some("changed their mind"))
                        .unwrap_or_else(|e| panic!("seed {seed} step {step}: cancel: {e}"));
                }
            }
            11 => {
                // The organizer reprices Full while the doors may be offline; doors that
                // have not synced go on selling at the price they read.
                let price = 80 + rng.below(70);
                organizer
                    .app
                    .update_seat_type(
                        &now(),
                        "demo",
                        "Full",
                        None,
                        None,
                        Some(&price.to_string()),
                        None,
                    )
                    .unwrap_or_else(|e| panic!("seed {seed} step {step}: reprice: {e}"));
                if rng.chance(50) {
                    organizer.sync();
                }
            }
            5 | 6 if door.online => {
                let transport = Faulty::new(
                    HttpTransport::new(&server.link(&door.token))
                        .unwrap()
                        .with_attempts(1),
                    faults(&mut rng),
                );
                if let Err(e) = door.device.app.sync(&transport, chrono::Utc::now()) {
                    assert_eq!(
                        e.code(),
                        "server_unreachable",
                        "seed {seed} step {step}: {e}"
                    );
                }
            }
            7 if door.online => {
                let quantity = 1 + rng.below(3);
                let transport = HttpTransport::new(&server.link(&door.token)).unwrap();
                door.device
                    .app
                    .request_allotment(
                        &transport,
                        &Ctx::new(chrono::Utc::now()),
                        "demo",
                        &[format!("{seat}={quantity}")],
                    )
                    .unwrap_or_else(|e| panic!("seed {seed} step {step}: allotment: {e}"));
            }
            8 => {
                if let Err(e) = door.device.app.return_allotment(
                    &Ctx::new(chrono::Utc::now()),
                    "demo",
                    &[format!("{seat}=1")],
                ) {
                    assert_eq!(
                        e.code(),
                        "nothing_to_return",
                        "seed {seed} step {step}: {e}"
                    );
                }
            }
            _ => {
                organizer.sync();
            }
        }
    }
    // Everyone comes back online and syncs until nothing moves.
    for _ in 0..2 {
        for door in &mut doors {
            door.device.sync();
        }
        organizer.sync();
    }
    assert!(
        sales > 0,
        "seed {seed}: the schedule sold nothing; pick another seed"
    );
    let orders = organizer.orders();
    assert_eq!(orders.len(), sales, "seed {seed}: every sale arrived once");
    let positions = organizer.confirmed_positions();
    for (i, door) in doors.iter().enumerate() {
        assert_eq!(
            door.device.orders(),
            orders,
            "seed {seed}: door {i} converged"
        );
        assert_eq!(
            door.device.confirmed_positions(),
            positions,
            "seed {seed}: door {i} has the same log"
        );
        assert_eq!(
            door.device.tentative(),
            0,
            "seed {seed}: door {i} has nothing unconfirmed"
        );
        let status = door.device.app.status().unwrap();
        assert_eq!(
            status.pending_commands, 0,
            "seed {seed}: door {i} pushed everything"
        );
        // Door commands write only the door's own streams: nothing is ever refused.
        assert!(
            status.rejections.is_empty(),
            "seed {seed}: door {i}: {:?}",
            status.rejections
        );
    }
    let status = organizer.app.status().unwrap();
    assert!(
        status.rejections.is_empty(),
        "seed {seed}: organizer: {:?}",
        status.rejections
    );
    // And the admin's `verify` finds nothing in the log to question.
    let verify = std::process::Command::new(crate::server::server_binary())
        .args(["verify", "--database"])
        .arg(&server.database)
        .output()
        .expect("conference-sync verify");
    let said = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "seed {seed}: {verify:?}");
    assert!(
        said.starts_with("All ") && said.contains("pass the checks"),
        "seed {seed}: {said}"
    );
    let seats = organizer.app.seats("demo").unwrap();
    for row in &seats.seat_types {
        let quantity = i64::from(row.quantity);
        assert_eq!(
            row.remaining + row.sold + row.reserved,
            quantity,
            "seed {seed}: {} seats add up",
            row.name
        );
        if overrides == 0 {
            assert!(
                row.sold <= quantity,
                "seed {seed}: {} oversold without an override",
                row.name
            );
        }
        assert!(
            row.sold <= quantity + row.overridden,
            "seed {seed}: {} sold past its overrides",
            row.name
        );
    }
}

#[test]
fn random_schedules_of_devices_going_on_and_offline_converge() {
    for seed in SEEDS {
        run(seed);
    }
}
