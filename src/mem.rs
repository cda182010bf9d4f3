// SPDX-License-Identifier: GPL-2.0

//! DMA coherent memory shared with the device, accessed as little-endian 64-bit words.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dma::Coherent,
    io::{
        io_read,
        io_write, //@ step buffers
    },
    prelude::*,
};

/// A DMA coherent buffer of 64-bit words that the device reads or writes.
///
/// Every access is a single volatile access of a naturally aligned word, so the device never
/// sees a torn value and the compiler never caches one.
pub(crate) struct DmaWords(Coherent<[u64]>);

impl DmaWords {
    /// Allocates `words` zeroed words.
    pub(crate) fn zeroed(dev: &Device<Bound>, words: usize) -> Result<Self> {
        Ok(Self(Coherent::zeroed_slice(dev, words, GFP_KERNEL)?))
    }

    //@ step firmware {
    /// The DMA address of the first word.
    pub(crate) fn dma_address(&self) -> u64 {
        self.0.dma_address()
    }
    //@ }

    /// Reads word `i`.
    pub(crate) fn read(&self, i: usize) -> Result<u64> {
        Ok(io_read!(&self.0, [try: i]))
    }

    //@ step recovery {
    /// Sets every word to `value`.
    pub(crate) fn fill(&self, value: u64) -> Result {
        (0..self.0.len()).try_for_each(|i| self.write(i, value))
    }
    //@ }

    //@ step buffers {
    /// Writes word `i`.
    pub(crate) fn write(&self, i: usize, value: u64) -> Result {
        io_write!(&self.0, [try: i], value);
        Ok(())
    }
    //@ }
}
