namespace SharpMM.User;

/// <summary>
/// Allocation and reference counts of the swap slots [First, First + Count) of a store (the
/// slots below First belong to persistent regions and are not counted here).
///
/// Metadata: a 2-byte reference count per slot (swap entries naming the slot, plus one for a
/// frame that caches it) and a stack of free slot numbers (4 bytes per slot), so allocation and
/// release are O(1); memory from the caller (<see cref="BytesFor"/>). A slot goes back on the
/// stack when its count drops to zero. Releasing a free slot, or a count that would overflow,
/// panics (callers hold one reference per entry and per cache, which a space count bounds).
/// </summary>
public unsafe struct StoreSlots
{
    private ushort* _refs;
    private uint* _free;
    private uint _freeCount;
    private ulong _first;
    private uint _count;

    /// <summary>First swap slot.</summary>
    public readonly ulong First => _first;
    /// <summary>Swap slots.</summary>
    public readonly uint Count => _count;
    /// <summary>Slots not in use.</summary>
    public readonly uint FreeCount => _freeCount;
    /// <summary>Slots in use.</summary>
    public readonly uint UsedCount => _count - _freeCount;

    /// <summary>Bytes of metadata for <paramref name="count"/> slots.</summary>
    public static ulong BytesFor(uint count) => (ulong)count * 6;

    /// <summary>Manages slots [first, first + count) with <see cref="BytesFor"/> bytes at
    /// <paramref name="memory"/>; every slot starts free (the lowest is handed out first).</summary>
    public void Init(void* memory, ulong first, uint count)
    {
        _free = (uint*)memory;
        _refs = (ushort*)(_free + count);
        _first = first;
        _count = count;
        for (uint i = 0; i < count; i++)
        {
            _free[i] = count - 1 - i;
            _refs[i] = 0;
        }
        _freeCount = count;
    }

    /// <summary>True when <paramref name="slot"/> is a swap slot managed here.</summary>
    public readonly bool Manages(ulong slot) => slot - _first < _count;

    /// <summary>A free slot with one reference. Return: Ok; NoSpace (the store is full).</summary>
    public Status Allocate(out uint slot)
    {
        slot = 0;
        if (_freeCount == 0) return Status.NoSpace;
        uint i = _free[--_freeCount];
        if (_refs[i] != 0) Panic.Fail("store slots: a slot on the free stack is in use", i);
        _refs[i] = 1;
        slot = (uint)(_first + i);
        return Status.Ok;
    }

    /// <summary>References to <paramref name="slot"/> (0 when free; 0 for slots not managed here).</summary>
    public readonly uint RefCount(ulong slot) => Manages(slot) ? _refs[slot - _first] : 0u;

    /// <summary>Adds a reference (slots not managed here are permanent: nothing to count).</summary>
    public void AddRef(ulong slot)
    {
        if (!Manages(slot)) return;
        ref ushort r = ref _refs[slot - _first];
        if (r == 0) Panic.Fail("store slots: reference to a free slot", slot);
        if (r == ushort.MaxValue) Panic.Fail("store slots: reference count overflow", slot);
        r++;
    }

    /// <summary>Drops a reference; true when the slot became free.</summary>
    public bool Release(ulong slot)
    {
        if (!Manages(slot)) return false;
        ulong i = slot - _first;
        ref ushort r = ref _refs[i];
        if (r == 0) Panic.Fail("store slots: release of a free slot", slot);
        if (--r != 0) return false;
        _free[_freeCount++] = (uint)i;
        return true;
    }
}
