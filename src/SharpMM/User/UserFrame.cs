namespace SharpMM.User;

/// <summary>
/// What the user memory manager knows about one frame (8 bytes, in <see cref="UserFrameTable"/>).
/// <code>
///   Refs   level-0 entries mapping the frame as a user page (0: not a user page). Above 1 the
///          page is shared copy-on-write and every one of those entries is read-only.
///   Clean  the frame's content equals its origin: zero when HasSlot is clear, store slot Slot
///          when set, unless an entry mapping it has Dirty set (folded into Clean whenever an
///          entry goes away or is write-protected). A clean page leaves RAM without a write.
///   Slot   a store slot holding the same content (the swap cache of one page); the frame
///          holds one reference on the slot.
/// </code>
/// </summary>
public struct UserFrame
{
    /// <summary>Flag: content equals the origin.</summary>
    public const byte CleanFlag = 1;
    /// <summary>Flag: <see cref="Slot"/> is valid.</summary>
    public const byte HasSlotFlag = 2;

    /// <summary>Mapping entries.</summary>
    public ushort Refs;
    /// <summary><see cref="CleanFlag"/> | <see cref="HasSlotFlag"/>.</summary>
    public byte Flags;
    private byte _pad;
    /// <summary>Cached store slot.</summary>
    public uint Slot;

    /// <summary>Content equals the origin (see the type's notes).</summary>
    public readonly bool IsClean => (Flags & CleanFlag) != 0;
    /// <summary>A store slot holds the same content.</summary>
    public readonly bool HasSlot => (Flags & HasSlotFlag) != 0;
}
