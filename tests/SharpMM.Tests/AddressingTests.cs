using SharpMM.Addressing;
using SharpMM.Hosted;
using Xunit;

namespace SharpMM.Tests;

public class AddressingTests
{
    [Fact]
    public void PhysRange_FromSize_FailsOnWrap()
    {
        Assert.Equal(Status.Overflow, PhysRange.TryFromSize(ulong.MaxValue - 10, 11, out _));
        Assert.Equal(Status.Ok, PhysRange.TryFromSize(ulong.MaxValue - 10, 10, out var r));
        Assert.Equal(ulong.MaxValue, r.End);
    }

    [Fact]
    public void PhysRange_FromBounds_RejectsEndBeforeStart()
    {
        Assert.Equal(Status.EndBeforeStart, PhysRange.TryFromBounds(0x2000, 0x1000, out _));
        var ex = Assert.Throws<PanicException>(() => PhysRange.FromBounds(0x2000, 0x1000));
        Assert.Contains("end before start", ex.Message);
    }

    [Fact]
    public void PhysRange_AlignInward_ShrinksToWholePages()
    {
        var r = PhysRange.FromBounds(0x1001, 0x5fff).AlignInward();
        Assert.Equal(0x2000UL, r.Start);
        Assert.Equal(0x5000UL, r.End);
        var tiny = PhysRange.FromBounds(0x1001, 0x1fff).AlignInward();
        Assert.True(tiny.IsEmpty);
    }

    [Fact]
    public void VirtAddr_RequiresCanonical()
    {
        Assert.Equal(Status.Ok, VirtAddr.TryNew(0x0000_7fff_ffff_f000, out _));
        Assert.Equal(Status.Ok, VirtAddr.TryNew(0xffff_8000_0000_0000, out _));
        Assert.Equal(Status.InvalidArgument, VirtAddr.TryNew(0x0000_8000_0000_0000, out _));
        Assert.Equal(0xffff_8000_0000_0000UL, VirtAddr.NewTruncate(0x0000_8000_0000_0000).Value);
    }

    [Fact]
    public void PhysAddr_RefusesAbove52Bits()
    {
        Assert.Equal(Status.OutOfRange, PhysAddr.TryNew(1UL << 52, out _));
        Assert.Throws<PanicException>(() => PhysAddr.New(1UL << 52));
        Assert.Equal(Status.Misaligned, Pfn.TryFromAddr(PhysAddr.New(0x1234), out _));
        Assert.Equal(Status.Ok, Pfn.TryFromAddr(PhysAddr.New(0x5000), out var pfn));
        Assert.Equal(5UL, pfn.Value);
        Assert.Equal(0x5000UL, pfn.ToAddr().Value);
    }
}
