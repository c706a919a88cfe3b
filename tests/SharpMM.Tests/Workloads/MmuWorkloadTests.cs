using SharpMM.Hosted.Workloads;
using Xunit;

namespace SharpMM.Tests.Workloads;

/// <summary>W4 (bench/peers/README.md) translates what it mapped: its checksum is the sum of the
/// physical addresses the draws call for, computed here from the draws alone.</summary>
public class MmuWorkloadTests
{
    [Fact]
    public void W4_TranslatesEveryDrawToItsFrame_AndReturnsEveryTable()
    {
        const long translations = 20_000;
        using var setup = new W4Setup(translations);
        // Two runs in one setup, as `sharpmm bench W4` makes them: the second starts afresh.
        for (int run = 0; run < 2; run++)
        {
            // W4 throws if a map or unmap fails, a translation faults, or a table page is not
            // freed once everything is unmapped.
            W4Result r = MmuWorkloads.W4(setup);
            Assert.Equal(515UL, r.TablePages);   // the PML4, 1 PDPT, 1 PD and 512 PTs, as the C reference counts
            Assert.Equal(Expected(translations), r.Checksum);
        }
    }

    // The same draws as the C reference: seed 4, the frames, the permutation, then the pages.
    private static ulong Expected(long translations)
    {
        const uint pages = MmuWorkloads.Pages;
        var rng = new SplitMix64(4);
        var target = new uint[pages];
        for (uint i = 0; i < pages; i++) target[i] = SplitMix64.Bound(rng.Next(), 1u << 24);
        for (uint i = pages - 1; i > 0; i--) SplitMix64.Bound(rng.Next(), i + 1);
        var q = new uint[translations];
        for (long k = 0; k < translations; k++) q[k] = SplitMix64.Bound(rng.Next(), pages);
        ulong sum = 0;
        for (long k = 0; k < translations; k++) sum += ((ulong)target[q[k]] << 12) + ((ulong)k & 4095);   // random pages
        for (long k = 0; k < translations; k++) sum += (ulong)target[q[k] & 31] << 12;                  // 32 hot pages
        return sum;
    }
}
