//! The error collector every stage of `#[slab_cached]` (and `slab_hooks!`) records its
//! mistakes in, so that one compile reports them all. Talks to nothing else.

/// All the mistakes found so far, folded into one error with `syn::Error::combine`.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// `Err` with every recorded mistake, if there is one.
    pub(crate) fn finish(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}
