using SharpMM.Addressing;
using SharpMM.Heap;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>The direct-map large mapper: a block's address is its direct-map address, and
/// only addresses inside the direct map translate back.</summary>
public unsafe class DirectLargeMapperTests
{
    [Fact]
    public void MapsThroughTheDirectMap_AndTranslatesBack()
    {
        var map = new DirectMap(0x7000_0000_0000);
        var m = new DirectLargeMapper(map);
        Assert.Equal(Status.Ok, m.Map(Pfn.NewUnchecked(0x1234), 3, out byte* v));
        Assert.Equal(0x7000_0000_0000UL + (0x1234UL << 12), (ulong)v);
        Assert.True(m.TryTranslate(v + 4095, out Pfn p));
        Assert.Equal(0x1234UL, p.Value);
        Assert.False(m.TryTranslate((void*)0x6fff_ffff_f000, out _));           // below the map
        Assert.False(m.TryTranslate((void*)(0x7000_0000_0000UL + PhysAddr.Limit), out _)); // beyond 2^52
        m.Unmap(v, 3); // nothing to undo
    }
}
