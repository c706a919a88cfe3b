using System;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// One set-associative array of the TLB, for one page size class. Entry i of set s is slot
/// s * <see cref="Stride"/> + i, the stride being the way count rounded up to a power of two (the
/// slots past the ways stay empty), so that a set's first slot is a shift away from the page
/// number. Replacement is FIFO within a set (a per-set next-victim counter), preferring an empty
/// way: hardware uses pseudo-LRU, FIFO keeps a hit free of bookkeeping writes. The arrays are
/// allocated pinned, so the MMU's hit path can address them without a bounds or null check.
/// </summary>
internal sealed class TlbArray
{
    public readonly TlbEntry[] Entries;
    /// <summary>Per slot, what the stale check compares with RAM.</summary>
    public readonly TlbCopies[] Copies;
    public readonly int SetMask;
    public readonly int Ways;
    /// <summary>Slots per set: <see cref="Ways"/> rounded up to a power of two.</summary>
    public readonly int Stride;
    /// <summary>log2 of the page size this array holds (set on mode changes, after a flush).</summary>
    public int Shift;
    /// <summary>Per set, the way FIFO replacement takes next when no way is empty.</summary>
    public readonly byte[] NextVictim;
    /// <summary>Valid entries this array's invalidations and flushes dropped (ever). With the
    /// change in <see cref="Count"/> it says how many fills took an empty slot.</summary>
    public long Dropped;

    public TlbArray(int sets, int ways, int shift)
    {
        Stride = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)ways);
        Entries = GC.AllocateArray<TlbEntry>(sets * Stride, pinned: true);
        Copies = GC.AllocateArray<TlbCopies>(sets * Stride, pinned: true);
        SetMask = sets - 1;
        Ways = ways;
        Shift = shift;
        NextVictim = new byte[sets];
    }

    /// <summary>The tag a page containing <paramref name="va"/> would carry: the address with the
    /// offset bits all set (never 0, the empty tag).</summary>
    public ulong TagOf(ulong va) => va | ((1UL << Shift) - 1);

    private int FirstSlot(ulong va) => ((int)(va >> Shift) & SetMask) * Stride;

    /// <summary>Slot caching <paramref name="va"/>, or -1.</summary>
    public int Find(ulong va)
    {
        ulong tag = TagOf(va);
        int first = FirstSlot(va);
        for (int i = first; i < first + Ways; i++)
            if (Entries[i].Tag == tag) return i;
        return -1;
    }

    /// <summary>A slot for <paramref name="va"/>'s page: an empty way, else the set's FIFO victim.</summary>
    public int Allocate(ulong va)
    {
        int set = (int)(va >> Shift) & SetMask;
        int first = set * Stride;
        for (int i = first; i < first + Ways; i++)
            if (Entries[i].Tag == 0) return i;
        int victim = NextVictim[set];
        NextVictim[set] = (byte)(victim + 1 == Ways ? 0 : victim + 1);
        return first + victim;
    }

    /// <summary>Drops the entry caching <paramref name="va"/>'s page; returns how many were dropped.</summary>
    public int InvalidatePage(ulong va)
    {
        ulong tag = TagOf(va);
        int first = FirstSlot(va), n = 0;
        for (int i = first; i < first + Ways; i++)
            if (Entries[i].Tag == tag) { Entries[i].Tag = 0; n++; }
        Dropped += n;
        return n;
    }

    /// <summary>Drops every entry without one of the <paramref name="keep"/> rights
    /// (<see cref="TlbRights.Global"/> while CR4.PGE = 1, else none).</summary>
    public void FlushNonGlobal(uint keep)
    {
        TlbEntry[] e = Entries;
        for (int i = 0; i < e.Length; i++)
            if (e[i].Tag != 0 && (e[i].Rights & keep) == 0) { e[i].Tag = 0; Dropped++; }
    }

    /// <summary>Drops every entry.</summary>
    public void FlushAll()
    {
        TlbEntry[] e = Entries;
        for (int i = 0; i < e.Length; i++)
            if (e[i].Tag != 0) { e[i].Tag = 0; Dropped++; }
    }

    /// <summary>Hits counted in the slots (<see cref="TlbEntry.Hits"/>).</summary>
    public long SlotHits
    {
        get
        {
            long n = 0;
            foreach (ref readonly TlbEntry e in Entries.AsSpan()) n += e.Hits;
            return n;
        }
    }

    /// <summary>Zeroes the slots' hit counters.</summary>
    public void ResetSlotHits()
    {
        foreach (ref TlbEntry e in Entries.AsSpan()) e.Hits = 0;
    }

    /// <summary>True when some entry is valid.</summary>
    public bool Any()
    {
        foreach (ref readonly TlbEntry e in Entries.AsSpan()) if (e.Tag != 0) return true;
        return false;
    }

    /// <summary>Valid entries.</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (ref readonly TlbEntry e in Entries.AsSpan()) if (e.Tag != 0) n++;
            return n;
        }
    }
}
