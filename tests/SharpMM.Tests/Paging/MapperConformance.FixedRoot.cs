using SharpMM.Addressing;
using SharpMM.Paging;
using Xunit;
using static SharpMM.Tests.Paging.PagingAssert;

namespace SharpMM.Tests.Paging;

// FixRootEntries: a kernel whose top-level entries are copied into every user address space
// makes them all at boot and fixes them, for every format.
public abstract unsafe partial class MapperConformance<TFormat>
{
    /// <summary>
    /// <code>
    ///   Boundary: one page (root -> ... -> level 0)       FixRootEntries
    ///   Unmap it, UnmapRange over the whole entry  -> the root's child stays, empty
    ///   Map / MapRange under the entry below Boundary (no table yet)  -> Unsupported
    ///   Map at Boundary again                      -> Ok under the kept entry
    /// </code>
    /// Expect: after the unmaps exactly the root and its child remain (the root's entry is
    /// unchanged); a mapping that needs a new top-level entry fails and allocates nothing.
    /// </summary>
    [Fact]
    public void FixedRootEntries_StayWhenEmpty_AndNoneIsAdded()
    {
        ulong va = Boundary, other = Boundary - PageSize.Bytes;
        Assert.Equal(Status.Ok, Map(va, Phys(va), MappingSize.Size4KiB, PageFlags.Writable));
        Assert.False(M.RootEntriesFixed);
        M.FixRootEntries();
        Assert.True(M.RootEntriesFixed);
        ulong rootEntry = M.Walk(V(va))[0].Entry;

        Assert.Equal(Status.Ok, M.Unmap(V(va), ref Frames, out _));
        Assert.Equal(2UL, Tables());
        Assert.Equal(FreeBeforeRoot - 2, Ram.Free);
        Assert.Equal(rootEntry, M.Walk(V(va))[0].Entry);
        CheckInvariants("after the unmap");

        Assert.Equal(Status.Ok, Map(va + 3 * PageSize.Bytes, Phys(va), MappingSize.Size4KiB, PageFlags.Writable));
        Assert.Equal(Status.Ok, UnmapRange(va, Span(Top)));
        Assert.Equal(2UL, Tables());
        Assert.Equal(FreeBeforeRoot - 2, Ram.Free);

        Assert.Equal(Status.Unsupported, Map(other, Phys(va), MappingSize.Size4KiB, PageFlags.Writable));
        Assert.Equal(Status.Unsupported, MapRange(other, Phys(va), PageSize.Bytes, PageFlags.Writable));
        Assert.Equal(2UL, Tables());
        Assert.Equal(FreeBeforeRoot - 2, Ram.Free);
        Assert.Equal(Status.NotMapped, M.Translate(V(other), out _));

        Assert.Equal(Status.Ok, Map(va, Phys(va), MappingSize.Size4KiB, PageFlags.Writable));
        Assert.Equal(Status.Ok, M.Translate(V(va), out Translation t));
        Assert.Equal(Phys(va), t.Phys.Value);
        CheckInvariants("mapped again under the kept entry");
    }
}
