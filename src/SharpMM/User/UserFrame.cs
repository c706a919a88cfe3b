using System.Runtime.InteropServices;
using SharpMM.Physical;

namespace SharpMM.User;

/// <summary>
/// What the user memory manager knows about one frame: the frame's owner word
/// (<see cref="FrameOwner.UserPage"/>), 8 bytes in the frame table, reached through
/// <see cref="UserFrames"/>.
/// <code>
///   byte 0   Kind   FrameOwner.UserPage (set by the constructor; a default UserFrame is the
///                   word of a frame with no owner)
///   byte 1   Flags  Clean: the frame's content equals its origin: zero when HasSlot is clear,
///                   store slot Slot when set, unless an entry mapping it has Dirty set (folded
///                   into Clean whenever an entry goes away or is write-protected). A clean page
///                   leaves RAM without a write.
///   bytes 2-3 Refs  level-0 entries mapping the frame as a user page (0: not a user page).
///                   Above 1 the page is shared copy-on-write and every one of those entries is
///                   read-only.
///   bytes 4-7 Slot  a store slot holding the same content (the swap cache of one page); the
///                   frame holds one reference on the slot.
/// </code>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct UserFrame
{
    /// <summary>Flag: content equals the origin.</summary>
    public const byte CleanFlag = 1;
    /// <summary>Flag: <see cref="Slot"/> is valid.</summary>
    public const byte HasSlotFlag = 2;

    private byte _kind;
    /// <summary><see cref="CleanFlag"/> | <see cref="HasSlotFlag"/>.</summary>
    public byte Flags;
    /// <summary>Mapping entries.</summary>
    public ushort Refs;
    /// <summary>Cached store slot.</summary>
    public uint Slot;

    /// <summary>An empty user-page word (kind set, no mappings, flags or slot).</summary>
    public UserFrame() { _kind = (byte)FrameOwner.UserPage; Flags = 0; Refs = 0; Slot = 0; }

    /// <summary>True for a user page's word (false for a default one).</summary>
    public readonly bool IsUserPage => _kind == (byte)FrameOwner.UserPage;
    /// <summary>Content equals the origin (see the type's notes).</summary>
    public readonly bool IsClean => (Flags & CleanFlag) != 0;
    /// <summary>A store slot holds the same content.</summary>
    public readonly bool HasSlot => (Flags & HasSlotFlag) != 0;
}
