using SharpMM.Hosted.Machine;
using Xunit;
using static SharpMM.Tests.Machine.PagingFixture;

namespace SharpMM.Tests.Machine;

/// <summary>Accessed and Dirty flags (SDM vol. 3A, 4.8) as written back to the tables in RAM.</summary>
public class AccessedDirtyTests
{
    private const ulong Va = 0x0000_0012_3456_7000;

    [Fact]
    public void ReadSetsAccessedAtEveryLevelAndDirtyNowhere()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(Va, Frame(1), P | RW));
        f.Mmu.Read64(Va);
        for (int level = 4; level >= 1; level--)
            Assert.Equal(A, f.Get(f.EntryAddress(Va, level)) & (A | D));
        Assert.Equal(Frame(1), f.Mmu.Walk(Va).PhysicalAddress);
    }

    [Fact]
    public void WriteSetsDirtyOnlyInTheLeaf()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(Va, Frame(1), P | RW));
        f.Mmu.Write64(Va, 7);
        Assert.Equal(A | D, f.Get(f.EntryAddress(Va, 1)) & (A | D));
        for (int level = 4; level >= 2; level--)
            Assert.Equal(A, f.Get(f.EntryAddress(Va, level)) & (A | D));
    }

    [Fact]
    public void LargePageLeafGetsDirty()
    {
        using var f = new PagingFixture();
        ulong pde = 0;
        f.Boot(PagingMode.FourLevel, t => pde = t.MapLarge(0x4000_0000, 0x20_0000, P | RW));
        f.Mmu.Write8(0x4000_0010, 1);
        Assert.Equal(0x20_0000 | P | RW | PS | A | D, f.Get(pde));
    }

    [Fact]
    public void ProtectionFaultSetsAccessedAboveTheLeafButNotInIt()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(Va, Frame(1), P));
        Assert.Equal(TranslationResult.PageFault, f.T(Va, AccessKind.Read, Privilege.User).Result);
        Assert.Equal(0UL, f.Get(f.EntryAddress(Va, 1)) & (A | D));
        Assert.Equal(A, f.Get(f.EntryAddress(Va, 2)) & A);
    }

    [Fact]
    public void WriteThroughACleanCachedEntryWalksAgainToSetDirty()
    {
        using var f = new PagingFixture();
        ulong pte = 0;
        f.Boot(PagingMode.FourLevel, t => pte = t.Map4K(Va, Frame(1), P | RW));
        f.Mmu.Read64(Va);
        Assert.Equal(0UL, f.Get(pte) & D);
        f.Mmu.Write64(Va, 1);
        Assert.Equal(D, f.Get(pte) & D);
        Assert.Equal(1, f.Mmu.Tlb.DirtyWalks);
        Assert.Equal(0, f.Mmu.Tlb.ViolationCount);
        f.Mmu.Write64(Va, 2);
        Assert.Equal(1, f.Mmu.Tlb.DirtyWalks);   // cached dirty now: a plain hit
    }

    [Fact]
    public void WalkIsFreeOfSideEffects()
    {
        using var f = new PagingFixture();
        ulong pte = 0;
        f.Boot(PagingMode.FourLevel, t => pte = t.Map4K(Va, Frame(1), P | RW));
        Assert.True(f.Mmu.Walk(Va).IsMapped);
        Assert.Equal(Frame(1) | P | RW, f.Get(pte));
        Assert.Equal(0UL, f.Get(f.EntryAddress(Va, 4)) & A);
        Assert.Equal(0, f.Mmu.Tlb.Count);
    }
}
