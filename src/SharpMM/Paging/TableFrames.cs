using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Paging;

/// <summary>
/// Page-table frames for <typeparamref name="TFormat"/>, one order-0 frame each: what the mapper
/// and the user address spaces take their tables from and give them back to.
/// </summary>
internal static class TableFrames<TFormat> where TFormat : struct, IPagingFormat
{
    /// <summary>A frame for a level-<paramref name="level"/> table (not zeroed). Return: Ok;
    /// the allocator's failure; OutOfRange (the frame lies where the format cannot put such a
    /// table, e.g. a PAE PDPT above 4 GiB; it is given back).</summary>
    public static Status Allocate<TFrames>(ref TFrames frames, int level, out ulong phys) where TFrames : struct, IFrameAllocator
    {
        phys = 0;
        Status s = frames.Allocate(0, out Pfn pfn);
        if (s != Status.Ok) return s;
        ulong p = pfn.Value << PageSize.Shift;
        if (p >= TFormat.TablePhysLimit(level))
        {
            Free(ref frames, p);
            return Status.OutOfRange;
        }
        phys = p;
        return Status.Ok;
    }

    /// <summary>Gives a table frame back; a refusal is a broken invariant (the frame came from there).</summary>
    public static void Free<TFrames>(ref TFrames frames, ulong phys) where TFrames : struct, IFrameAllocator
    {
        if (frames.Free(Pfn.NewUnchecked(phys >> PageSize.Shift), 0) != Status.Ok)
            Panic.Fail("page tables: the frame allocator refused a table frame back", phys);
    }
}
