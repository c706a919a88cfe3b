using SharpMM.Addressing;
using SharpMM.Virtual;
using Xunit;

namespace SharpMM.Tests.Virtual;

public class AddressSpaceLayoutTests
{
    public static TheoryData<LayoutId> All => new() { LayoutId.I386HigherHalf, LayoutId.I386Low2G, LayoutId.PhantomIa32, LayoutId.X86_64 };

    // Every layout: sorted, non-overlapping, inside its address width, page 0 a guard region,
    // user regions below the kernel base, 48-bit addresses canonical.
    [Theory]
    [MemberData(nameof(All))]
    public void Regions_AreSorted_Disjoint_AndKeepPageZeroUnmapped(LayoutId id)
    {
        var l = AddressSpaceLayout.Get(id);
        Assert.True(l.Count > 3);
        Assert.Equal(RegionKind.Guard, l[0].Kind);
        Assert.Equal(0UL, l[0].Start);
        Assert.True(l[0].End >= 0x1000);
        for (int i = 0; i < l.Count; i++)
        {
            var r = l[i];
            Assert.True(r.Start < r.End, $"{l.Name} region {i} empty");
            Assert.True(PageSize.IsAligned(r.Start) && (r.End == 0 || PageSize.IsAligned(r.End)), $"{l.Name} region {i} not page aligned");
            if (i > 0) Assert.True(l[i - 1].End <= r.Start, $"{l.Name}: region {i} overlaps or is out of order");
            if (l.AddressBits == 32) Assert.True(r.End <= 1UL << 32);
            else
            {
                Assert.True(VirtAddr.IsCanonical(r.Start), $"{l.Name} region {i} start not canonical");
                Assert.True(VirtAddr.IsCanonical(r.End - 1), $"{l.Name} region {i} end not canonical");
            }
            if (r.User) Assert.True(r.End <= l.KernelBase, $"{l.Name}: user region {i} reaches the kernel");
            if (r.GrowsDown) Assert.True(r.Kind is RegionKind.UserStack or RegionKind.KernelStack);
        }
        Assert.True(l.TryFind(0x10, out var g) && g.Kind == RegionKind.Guard);
        Assert.True(AddressSpaceLayout.TryParse(l.Name, out var back) && back == id);
    }

    // The classic i386 higher half's numbers exactly.
    [Fact]
    public void I386HigherHalf_HasSeed003Addresses()
    {
        var l = AddressSpaceLayout.I386HigherHalf();
        Expect(l, 0x08048000, RegionKind.UserText);
        Expect(l, 0x40000000, RegionKind.SharedLibraries);
        Expect(l, 0xBFFFFFFF, RegionKind.UserStack);
        Expect(l, 0xC0000000, RegionKind.KernelImage);
        Expect(l, 0xC03FFFFF, RegionKind.KernelImage);
        Expect(l, 0xC0400000, RegionKind.KernelHeap);
        Expect(l, 0xFF3FFFFF, RegionKind.KernelHeap);
        Expect(l, 0xFF400000, RegionKind.KernelStack);
        Expect(l, 0xFFBFFFFF, RegionKind.KernelStack);
        Expect(l, 0xFFC00000, RegionKind.PageTables);
        Expect(l, 0xFFFFF000, RegionKind.PageDirectory);
        Assert.True(l.TryFind(RegionKind.PageTables, out var pt));
        Assert.Equal(1023UL * 4096, pt.End - pt.Start); // 1023 tables + the directory = the self-map's 4 MiB
    }

    [Fact]
    public void PhantomIa32_HasDevicePoolAndObjectSpace()
    {
        var l = AddressSpaceLayout.PhantomIa32();
        Expect(l, 0x3FFFFFFF, RegionKind.KernelHeap);
        Expect(l, 0x40000000, RegionKind.DevicePool);
        Expect(l, 0x7FFFFFFF, RegionKind.DevicePool);
        Expect(l, 0x80000000, RegionKind.ObjectSpace);
        Expect(l, 0xBFFFFFFF, RegionKind.ObjectSpace);
    }

    [Fact]
    public void X86_64_KernelInTopTwoGiB_DirectMapAndVmalloc()
    {
        var l = AddressSpaceLayout.X86_64();
        Expect(l, 0xFFFFFFFF80000000, RegionKind.KernelImage);
        Expect(l, 0xFFFF888000000000, RegionKind.DirectMap);
        Expect(l, 0xFFFFC90000000000, RegionKind.Vmalloc);
        Assert.False(l.TryFind(0x0000800000000000, out _)); // the non-canonical hole
    }

    [Fact]
    public void WriteMap_PrintsEveryRegion()
    {
        var l = AddressSpaceLayout.I386HigherHalf();
        var w = SharpMM.Hosted.StringSink.NewWriter();
        l.WriteMap(ref w);
        string text = w.Sink.Text.ToString();
        Assert.Contains("layout i386-higher-half (32-bit, kernel from 0xc0000000)", text);
        Assert.Contains("0xffc00000-0xffffefff", text);
        Assert.Contains("user-stack", text);
        Assert.Contains("grows down", text);
    }

    private static void Expect(AddressSpaceLayout l, ulong va, RegionKind kind)
    {
        Assert.True(l.TryFind(va, out var r), $"{va:x} not in any region");
        Assert.Equal(kind, r.Kind);
    }
}
