using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.User;

/// <summary>
/// User memory's view of the frame table (<see cref="FrameMap"/>): the owner word of a user
/// page, read and written as a <see cref="UserFrame"/>. Covers every frame the frame allocator
/// can hand out, whatever the size of RAM (the words are part of the frame descriptors).
/// </summary>
public readonly unsafe struct UserFrames
{
    private readonly FrameMap _map;

    /// <summary>A view of <paramref name="map"/>.</summary>
    public UserFrames(in FrameMap map) { _map = map; }

    /// <summary>One past the highest frame with a descriptor.</summary>
    public ulong EndPfn => _map.EndPfn;

    /// <summary>True when frame <paramref name="pfn"/> has a descriptor (can be a user page).</summary>
    public bool Covers(Pfn pfn) => _map.HasMetadata(pfn);

    /// <summary>The word of a frame user memory holds (a mapped user page, claimed with
    /// <see cref="Claim"/>), to read or update; the frame table's state byte is not written.
    /// Panics for a frame without a descriptor.</summary>
    public ref UserFrame this[ulong pfn]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (!_map.HasMetadata(Pfn.NewUnchecked(pfn))) Panic.Fail("user memory: a user frame without a descriptor", pfn);
            return ref *(UserFrame*)_map.OwnerWord((uint)pfn);
        }
    }

    /// <summary>Makes a frame user memory has just allocated a user page described by
    /// <paramref name="word"/>: claims its owner word (<see cref="FrameMap.ClaimOwnerWord"/>,
    /// the one time the state byte is marked) and writes it. Panics for a frame without a
    /// descriptor.</summary>
    public void Claim(ulong pfn, UserFrame word)
    {
        if (!_map.HasMetadata(Pfn.NewUnchecked(pfn))) Panic.Fail("user memory: a user frame without a descriptor", pfn);
        *(UserFrame*)_map.ClaimOwnerWord((uint)pfn) = word;
    }

    /// <summary>Ends the word of a frame user memory is about to give back
    /// (<see cref="FrameMap.ReleaseOwnerWord"/>); panics for a frame without a descriptor.</summary>
    public void Release(ulong pfn)
    {
        if (!_map.HasMetadata(Pfn.NewUnchecked(pfn))) Panic.Fail("user memory: a user frame without a descriptor", pfn);
        _map.ReleaseOwnerWord((uint)pfn);
    }

    /// <summary>What the frame table says about any frame as a user page: its
    /// <see cref="UserFrame"/> when its owner word is a user page's, else an empty one (no
    /// mappings). For checks and reports.</summary>
    public UserFrame Get(Pfn pfn)
    {
        if (!_map.TryOwnerWord(pfn, out ulong word) || FrameOwner.Kind(word) != FrameOwner.UserPage) return default;
        return *(UserFrame*)&word;
    }
}
