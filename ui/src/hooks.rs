//! The screens' hooks: [`use_reduced`] holds a screen's state from [`crate::state`] as a
//! Yew reducer, and [`use_command`] calls the shell with busy, error and result state,
//! keeping only the answer to the latest call. The state logic itself lives in
//! [`crate::state`], tested natively; nothing here decides anything.
use crate::bridge;
use crate::state::{Call, CallAction, Reduce};
use conference_desktop_ipc::protocol::ErrorBody;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::Cell;
use std::ops::Deref;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

/// A [`Reduce`] state held by Yew.
#[derive(Default, PartialEq)]
pub struct Reduced<S>(S);

impl<S> Deref for Reduced<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

impl<S: Reduce> Reducible for Reduced<S> {
    type Action = S::Action;
    fn reduce(self: Rc<Self>, action: S::Action) -> Rc<Self> {
        Rc::new(Reduced(self.0.clone().reduce(action)))
    }
}

/// A screen's state: read it through the handle, change it with `dispatch(action)`.
#[hook]
pub fn use_reduced<S, F>(init: F) -> UseReducerHandle<Reduced<S>>
where
    S: Reduce + 'static,
    F: FnOnce() -> S,
{
    use_reducer(move || Reduced(init()))
}

/// A command to the shell and its latest answer (`busy`, `error`, `result` through
/// `Deref`). Cloned into callbacks and effects like any handle.
pub struct UseCommandHandle<T: Clone + 'static> {
    state: UseReducerHandle<Reduced<Call<T>>>,
    asked: Rc<Cell<u64>>,
}

impl<T: Clone> Clone for UseCommandHandle<T> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            asked: self.asked.clone(),
        }
    }
}

impl<T: Clone> Deref for UseCommandHandle<T> {
    type Target = Call<T>;
    fn deref(&self) -> &Call<T> {
        &self.state.0
    }
}

impl<T: DeserializeOwned + Clone + 'static> UseCommandHandle<T> {
    /// Sends `command` with `args` (an object whose keys are the command's parameters).
    pub fn run<A: Serialize + 'static>(&self, command: &'static str, args: A) {
        self.run_then(command, args, |_| {});
    }

    /// Like [`run`](Self::run), then calls `then` with the answer, unless the screen has
    /// asked again (or forgotten) since: an older answer goes nowhere.
    pub fn run_then<A, F>(&self, command: &'static str, args: A, then: F)
    where
        A: Serialize + 'static,
        F: FnOnce(&Result<T, ErrorBody>) + 'static,
    {
        let ask = self.asked.get() + 1;
        self.asked.set(ask);
        let state = self.state.dispatcher();
        let asked = self.asked.clone();
        state.dispatch(CallAction::Ask(ask));
        spawn_local(async move {
            let answer = bridge::invoke::<A, T>(command, &args).await;
            if asked.get() != ask {
                return;
            }
            then(&answer);
            state.dispatch(CallAction::Answer(ask, answer));
        });
    }

    /// Clears the last answer and drops the answers still on their way.
    pub fn forget(&self) {
        let ask = self.asked.get() + 1;
        self.asked.set(ask);
        self.state.dispatch(CallAction::Forget(ask));
    }
}

/// A command to the shell with busy, error and result state; see [`UseCommandHandle`].
#[hook]
pub fn use_command<T: Clone + 'static>() -> UseCommandHandle<T> {
    let state = use_reducer(Reduced::<Call<T>>::default);
    let asked = use_memo((), |()| Cell::new(0u64));
    UseCommandHandle { state, asked }
}
