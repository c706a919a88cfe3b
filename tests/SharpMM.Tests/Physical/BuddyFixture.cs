using System;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Hosted;
using SharpMM.Physical;

namespace SharpMM.Tests.Physical;

/// <summary>A private buddy allocator over the given RAM frame ranges, all handed over free
/// (except what <paramref name="reserved"/> keeps back), with metadata in host memory.</summary>
public sealed unsafe class BuddyFixture : IDisposable
{
    private readonly HostMemory _meta;
    public BuddyAllocator* Buddy { get; }
    public HostMetadata Metadata;

    public BuddyFixture((ulong start, ulong end)[] ranges, ZoneLayout layout, PcpConfig pcp, (ulong start, ulong end)[]? reserved = null)
    {
        _meta = new HostMemory(64UL << 20);
        Metadata = new HostMetadata(_meta.Base, _meta.Size, 0x1_0000_0000_0000);
        Buddy = (BuddyAllocator*)NativeMemory.AllocZeroed((nuint)sizeof(BuddyAllocator));
        var ram = new PhysRange[ranges.Length];
        for (int i = 0; i < ranges.Length; i++) ram[i] = PhysRange.FromFrames(Pfn.New(ranges[i].start), Pfn.New(ranges[i].end));
        var st = Buddy->Init(ref Metadata, ram, layout, pcp);
        if (st != Status.Ok) throw new InvalidOperationException($"Init: {st}");
        foreach (var (s, e) in ranges)
        {
            ulong p = s;
            foreach (var (rs, re) in reserved ?? Array.Empty<(ulong, ulong)>())
            {
                if (re <= p || rs >= e) continue;
                if (rs > p) Buddy->AddFreeRange(Pfn.New(p), Pfn.New(rs));
                p = Math.Max(p, re);
            }
            if (p < e) Buddy->AddFreeRange(Pfn.New(p), Pfn.New(e));
        }
    }

    public static BuddyFixture Flat(ulong startPfn, ulong frames, bool pcp = false) =>
        new(new[] { (startPfn, startPfn + frames) }, ZoneLayout.Flat(), pcp ? PcpConfig.Default : PcpConfig.Off);

    public ref BuddyAllocator B => ref *Buddy;

    public ulong BlocksAt(int zone, int order) => Buddy->FreeBlocks(zone, (uint)order);

    public void Dispose()
    {
        NativeMemory.Free(Buddy);
        _meta.Dispose();
    }
}
