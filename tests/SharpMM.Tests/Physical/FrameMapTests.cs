using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Hosted;
using SharpMM.Physical;
using SharpMM.User;
using Xunit;

namespace SharpMM.Tests.Physical;

/// <summary>The frame table: one descriptor per frame of RAM (state byte + links/owner word),
/// in sparse sections, shared by the buddy allocator, the heap and user memory.</summary>
public unsafe class FrameMapTests
{
    // A descriptor is a state byte and one 8-byte word; the budget is 16 bytes a frame.
    // Expect: 9 bytes, and a user page's word is exactly the word.
    [Fact]
    public void Descriptor_FitsSixteenBytes()
    {
        int perFrame = sizeof(FrameLinks) + sizeof(byte);
        Assert.Equal(9, perFrame);
        Assert.True(perFrame <= 16);
        Assert.Equal(sizeof(ulong), sizeof(FrameLinks));
        Assert.Equal(sizeof(ulong), sizeof(UserFrame));
    }

    // 1 GiB of RAM in one run: metadata is 9 bytes a frame plus the pair bits and the table.
    // Expect: between 9 and 10 bytes per frame.
    [Fact]
    public void Metadata_NineBytesPerFrameOfRam()
    {
        using var f = BuddyFixture.Flat(256, 262144 - 256);
        ulong frames = 262144 - 256;
        Assert.InRange(f.B.Map.MetadataBytes, 9 * frames, 10 * frames);
    }

    //   RAM: [1 MiB, 32 MiB) and 16 MiB ending 16 MiB below the 16 TiB limit; nothing between.
    // Expect: both runs described, the hole not, and metadata sized by the RAM (< 4 MiB).
    [Fact]
    public void Sections_OnlyWhereRamIs()
    {
        ulong high = Pfn.ManagedLimit - 8192;
        using var f = new BuddyFixture(new[] { (256UL, 8192UL), (high, high + 4096) }, ZoneLayout.X86_64(), PcpConfig.Off);
        FrameMap map = f.B.Map;
        Assert.True(map.MetadataBytes < (4UL << 20), $"metadata {map.MetadataBytes} bytes");
        Assert.True(map.HasMetadata(Pfn.New(256)) && map.HasMetadata(Pfn.New(8191)) && map.HasMetadata(Pfn.New(high)) && map.HasMetadata(Pfn.New(high + 4095)));
        Assert.False(map.HasMetadata(Pfn.New(255)));
        Assert.False(map.HasMetadata(Pfn.New(8192)));
        Assert.False(map.HasMetadata(Pfn.New(1UL << 30)));
        Assert.False(map.HasMetadata(Pfn.New(high + 4096)));
        Assert.False(map.HasMetadata(Pfn.New(Pfn.ManagedLimit)));
        Assert.False(map.TryOwnerWord(Pfn.New(1UL << 30), out _));
        Assert.False(map.TryOwnerWord(Pfn.NewUnchecked(ulong.MaxValue), out _));
        Assert.Equal(FrameState.Reserved, map.StateOf(Pfn.New(1UL << 30)));

        // A frame of the high run carries an owner word like any other.
        Assert.Equal(Status.Ok, f.B.Allocate(0, MemoryClass.User, out Pfn p));
        Assert.True(p.Value >= high);
        *map.ClaimOwnerWord((uint)p.Value) = FrameOwner.LargeTail;
        Assert.True(map.TryOwnerWord(p, out ulong w));
        Assert.Equal(FrameOwner.LargeTail, w);
        map.ReleaseOwnerWord((uint)p.Value);
        Assert.Equal(Status.Ok, f.B.Free(p, 0));
        f.B.Validate();
    }

    // Limits: RAM must be below 16 TiB (Pfn.ManagedLimit), sorted, non-empty and page-aligned.
    // Expect: InvalidArgument (Misaligned for the unaligned range) and nothing allocated.
    [Fact]
    public void Build_RefusesRangesPastTheLimit()
    {
        using var meta = new HostMemory(1UL << 20);
        var md = new HostMetadata(meta.Base, meta.Size, 0x1_0000_0000_0000);
        PhysRange[] past = { R(Pfn.ManagedLimit - 16, Pfn.ManagedLimit + 16) };
        Assert.Equal(Status.InvalidArgument, FrameMap.Build(ref md, past, out _));
        PhysRange[] unsorted = { R(4096, 8192), R(256, 1024) };
        Assert.Equal(Status.InvalidArgument, FrameMap.Build(ref md, unsorted, out _));
        PhysRange[] empty = { R(4096, 4096) };
        Assert.Equal(Status.InvalidArgument, FrameMap.Build(ref md, empty, out _));
        Assert.Equal(Status.InvalidArgument, FrameMap.Build(ref md, System.ReadOnlySpan<PhysRange>.Empty, out _));
        PhysRange[] unaligned = { PhysRange.FromBounds(0x10_0000, 0x20_0800) };
        Assert.Equal(Status.Misaligned, FrameMap.Build(ref md, unaligned, out _));
        Assert.Equal(0UL, md.Used);
    }

    // The word's life: "no owner" when the buddy allocator hands a frame out, the owner's once
    // it writes the word (which marks it), list links (no owner word at all) while the frame
    // heads a free block, and "no owner" again when it leaves the lists, although the links are
    // still in the word: only the owner's mark makes TryOwnerWord read it.
    [Fact]
    public void OwnerWord_ReadOnlyWhileItsOwnerHasItMarked()
    {
        using var f = BuddyFixture.Flat(1024, 4096);
        FrameMap map = f.B.Map;
        Assert.Equal(Status.Ok, f.B.Allocate(2, out Pfn p));
        for (uint k = 0; k < 4; k++)
        {
            Assert.True(map.TryOwnerWord(p.Add(k), out ulong w));
            Assert.Equal(0UL, w);
        }
        *map.ClaimOwnerWord((uint)p.Value) = FrameOwner.LargeHeadOf(2);
        Assert.True(map.TryOwnerWord(p, out ulong head));
        Assert.Equal(FrameOwner.LargeHeadOf(2), head);
        Assert.Equal(Status.Ok, f.B.Allocate(2, out Pfn q));          // p's buddy: now both allocated
        Assert.Equal(Status.Ok, f.B.Free(q, 2));
        Assert.Equal(FrameState.Free, map.StateOf(q));
        Assert.False(map.TryOwnerWord(q, out _));                // its word holds list links
        Assert.Equal(Status.Ok, f.B.Allocate(2, out Pfn again));
        Assert.Equal(q, again);
        Assert.True(map.TryOwnerWord(q, out ulong unowned));
        Assert.Equal(0UL, unowned);
        f.B.Validate();
    }

    // An owner releases its words before giving a block back: the buddy allocator refuses a
    // block whose first frame is still marked (and changes nothing), and takes it once released.
    [Fact]
    public void MarkedBlock_IsRefusedUntilReleased()
    {
        using var f = BuddyFixture.Flat(1024, 4096);
        FrameMap map = f.B.Map;
        Assert.Equal(Status.Ok, f.B.Allocate(1, out Pfn p));
        *map.ClaimOwnerWord((uint)p.Value) = FrameOwner.LargeHeadOf(1);
        *map.ClaimOwnerWord((uint)p.Value + 1) = FrameOwner.LargeTail;
        ulong free = f.B.FreeFrames;
        Assert.Equal(Status.NotAllocated, f.B.Free(p, 1));
        Assert.Equal(free, f.B.FreeFrames);
        Assert.Equal(FrameState.Allocated, map.StateOf(p));
        f.B.Validate();
        map.ReleaseOwnerWord((uint)p.Value);
        map.ReleaseOwnerWord((uint)p.Value + 1);
        Assert.True(map.TryOwnerWord(p.Add(1), out ulong tail));
        Assert.Equal(0UL, tail);
        Assert.Equal(Status.Ok, f.B.Free(p, 1));
        f.B.Validate();
    }

    // An owner marks a frame once, when it claims the word; reading and updating the word
    // afterwards (FrameMap.OwnerWord, user memory's indexer) leaves the state byte alone, and a
    // released word stays released however often its pointer is taken.
    // Expect: the mark after the claim only, the same word through every path.
    [Fact]
    public void ClaimOwnerWord_MarksOnce_LaterAccessesLeaveTheStateByte()
    {
        using var f = BuddyFixture.Flat(1024, 4096);
        FrameMap map = f.B.Map;
        Assert.Equal(Status.Ok, f.B.Allocate(0, out Pfn p));
        uint pfn = (uint)p.Value;
        byte unmarked = *map.Info(pfn);
        Assert.False(map.IsOwned(p));
        Assert.True(map.OwnerWord(pfn) == map.ClaimOwnerWord(pfn));
        Assert.Equal((byte)(unmarked | FrameInfo.Owned), *map.Info(pfn));
        Assert.True(map.IsOwned(p));
        *map.OwnerWord(pfn) = FrameOwner.LargeHeadOf(0);
        *map.OwnerWord(pfn) += 0x100;
        Assert.Equal((byte)(unmarked | FrameInfo.Owned), *map.Info(pfn));
        Assert.True(map.TryOwnerWord(p, out ulong w));
        Assert.Equal(FrameOwner.LargeHeadOf(1), w);
        map.ReleaseOwnerWord(pfn);
        _ = *map.OwnerWord(pfn);
        Assert.Equal(unmarked, *map.Info(pfn));
        Assert.True(map.TryOwnerWord(p, out ulong released));
        Assert.Equal(0UL, released);

        // User memory's view: Claim marks, the indexer does not.
        var users = new UserFrames(map);
        users.Claim(p.Value, new UserFrame { Refs = 1 });
        Assert.True(map.IsOwned(p));
        users.Release(p.Value);
        users[p.Value].Refs++;
        Assert.False(map.IsOwned(p));
        Assert.Equal(default, users.Get(p));
        *map.OwnerWord(pfn) = 0;
        Assert.Equal(Status.Ok, f.B.Free(p, 0));
        f.B.Validate();
    }

    //   RAM: [1 MiB, 300 MiB) (two sections, the longest run packed without a gap) and
    //   [1 GiB, 1 GiB + 16 MiB) (another section, after a hole).
    // TryOwnerWord and OwnerWordOrNone look up frames of the longest run with one range test
    // and the others through their section. Expect: the same answers on both sides of every edge.
    [Fact]
    public void TryOwnerWord_SameInsideAndOutsideTheDenseRun()
    {
        const ulong hiStart = 262144, hiEnd = 262144 + 4096;
        using var f = new BuddyFixture(new[] { (256UL, 76800UL), (hiStart, hiEnd) }, ZoneLayout.X86_64(), PcpConfig.Off);
        FrameMap map = f.B.Map;
        foreach (ulong edge in new ulong[] { 255, 256, 65535, 65536, 76799, 76800, hiStart - 1, hiStart, hiEnd - 1, hiEnd })
        {
            bool ram = edge >= 256 && edge < 76800 || edge >= hiStart && edge < hiEnd;
            Assert.Equal(ram, map.HasMetadata(Pfn.New(edge)));
            bool found = map.TryOwnerWord(Pfn.New(edge), out ulong w);
            // Frames of RAM the allocator holds free are list heads or tails; either way no owner.
            Assert.True(found == (ram && map.StateOf(Pfn.New(edge)) != FrameState.Free), $"frame {edge}: found {found}");
            Assert.Equal(0UL, w);
            Assert.Equal(0UL, map.OwnerWordOrNone(Pfn.New(edge)));
        }
        // A claimed word reads back the same in the dense run and in the other section.
        var claimed = new System.Collections.Generic.List<Pfn>();
        while (f.B.Allocate(10, MemoryClass.User, out Pfn b) == Status.Ok) claimed.Add(b);
        Assert.Contains(claimed, b => b.Value < 76800);
        Assert.Contains(claimed, b => b.Value >= hiStart);
        foreach (Pfn b in claimed)
        {
            *map.ClaimOwnerWord((uint)b.Value) = FrameOwner.LargeHeadOf(10);
            Assert.True(map.TryOwnerWord(b, out ulong w));
            Assert.Equal(FrameOwner.LargeHeadOf(10), w);
            Assert.Equal(FrameOwner.LargeHeadOf(10), map.OwnerWordOrNone(b));
            Assert.Equal(0UL, map.OwnerWordOrNone(b.Add(1)));
            Assert.True(map.TryOwnerWord(b.Add(1), out ulong tail));
            Assert.Equal(0UL, tail);
            map.ReleaseOwnerWord((uint)b.Value);
            Assert.Equal(Status.Ok, f.B.Free(b, 10));
        }
        f.B.Validate();
    }

    // Owner kinds are distinct, an address is told from a kind by its low 6 bits, and a user
    // page's word carries the UserPage kind in its low byte.
    [Fact]
    public void OwnerWord_Encodings()
    {
        ulong[] kinds = { FrameOwner.LargeHead, FrameOwner.LargeTail, FrameOwner.UserPage };
        for (int i = 0; i < kinds.Length; i++)
        {
            Assert.False(FrameOwner.IsAddress(kinds[i]));
            Assert.Equal(kinds[i], FrameOwner.Kind(kinds[i]));
            for (int j = i + 1; j < kinds.Length; j++) Assert.NotEqual(kinds[i], kinds[j]);
        }
        Assert.False(FrameOwner.IsAddress(FrameOwner.None));
        Assert.True(FrameOwner.IsAddress(0xFFFF_8000_0012_3440));       // a 64-byte aligned descriptor
        Assert.False(FrameOwner.IsAddress(0xFFFF_8000_0012_3448));
        Assert.Equal(FrameOwner.LargeHead, FrameOwner.Kind(FrameOwner.LargeHeadOf(10)));
        Assert.Equal(10u, FrameOwner.LargeOrder(FrameOwner.LargeHeadOf(10)));

        var u = new UserFrame { Refs = 0x1234, Flags = UserFrame.CleanFlag | UserFrame.HasSlotFlag, Slot = 0xDEADBEEF };
        ulong word = *(ulong*)&u;
        Assert.Equal(FrameOwner.UserPage, FrameOwner.Kind(word));
        Assert.Equal(0xDEADBEEF_1234_0304UL, word);
        Assert.True(u.IsUserPage);
        UserFrame none = default;
        Assert.Equal(0UL, *(ulong*)&none);
        Assert.False(none.IsUserPage);
    }

    // The heap's and user memory's frame allocators describe their frames in the buddy
    // allocator's one table.
    [Fact]
    public void Wrappers_ShareTheBuddyAllocatorsTable()
    {
        using var f = BuddyFixture.Flat(1024, 4096);
        var kernel = new BuddyClassFrames(f.Buddy, MemoryClass.Kernel);
        Assert.Equal(Status.Ok, kernel.Allocate(0, out Pfn p));
        *kernel.Map.ClaimOwnerWord((uint)p.Value) = FrameOwner.LargeTail;
        Assert.True(f.B.Map.TryOwnerWord(p, out ulong w));
        Assert.Equal(FrameOwner.LargeTail, w);
        kernel.Map.ReleaseOwnerWord((uint)p.Value);
        Assert.Equal(Status.Ok, kernel.Free(p, 0));
    }

    private static PhysRange R(ulong firstPfn, ulong endPfn) => PhysRange.FromFrames(Pfn.NewUnchecked(firstPfn), Pfn.NewUnchecked(endPfn));

    [Theory]
    [InlineData(0UL, 0u)]
    [InlineData(1UL, 0u)]
    [InlineData(2UL, 1u)]
    [InlineData(3UL, 2u)]
    [InlineData(1024UL, 10u)]
    [InlineData(1025UL, 11u)]
    public void BlockOrder_ForPages(ulong pages, uint order) => Assert.Equal(order, BlockOrder.ForPages(pages));

    [Theory]
    [InlineData(0UL, 0u)]
    [InlineData(1UL, 0u)]
    [InlineData(4096UL, 0u)]
    [InlineData(4097UL, 1u)]
    [InlineData(4UL << 20, 10u)]
    [InlineData((4UL << 20) + 1, 11u)]
    public void BlockOrder_ForBytes(ulong bytes, uint order) => Assert.Equal(order, BlockOrder.ForBytes(bytes));
}
