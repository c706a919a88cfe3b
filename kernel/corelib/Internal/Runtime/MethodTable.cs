namespace Internal.Runtime
{
    /// <summary>
    /// The head of ilc's type descriptor: only the fields the allocator and the cast helpers read.
    /// Contract with ilc 10.0.10 (x64):
    /// <code>
    ///   +0  uint  flags       bits 0-15  component size (arrays, string) when HasComponentSize
    ///                         bits 16-17 kind: 0 canonical, 1 function pointer, 2 parameterized
    ///                                    (array, pointer, byref), 3 generic definition
    ///                         bits 26-30 element type (primitive, ValueType 0x10, Class 0x14,
    ///                                    Interface 0x15, SystemArray 0x16, arrays 0x17/0x18)
    ///                         bit  31    HasComponentSize
    ///   +4  uint  baseSize    object size without components, header word included
    ///   +8  MethodTable* relatedType   base type (canonical kind) or element type (parameterized)
    ///   +16 ushort vtableSlots, ushort interfaces, uint hashCode, then the vtable
    /// </code>
    /// </summary>
    internal unsafe struct MethodTable
    {
        private const uint HasComponentSizeFlag = 0x80000000;
        private const uint KindMask = 0x00030000;
        private const uint KindParameterized = 0x00020000;
        private const int ElementTypeShift = 26;
        private const uint ElementTypeMask = 0x7C000000;

        internal const uint ElementTypeInterface = 0x15;
        internal const uint ElementTypeSystemArray = 0x16;

        private uint _uFlags;
        private uint _uBaseSize;
        private MethodTable* _relatedType;

        /// <summary>Bytes of the fixed part (for an array or string: up to element 0).</summary>
        internal uint BaseSize => _uBaseSize;

        /// <summary>Bytes per element for arrays and strings; 0 otherwise.</summary>
        internal ushort ComponentSize => (_uFlags & HasComponentSizeFlag) != 0 ? (ushort)_uFlags : (ushort)0;

        /// <summary>Arrays, pointers and byrefs: <see cref="RelatedType"/> is the element type.</summary>
        internal bool IsParameterized => (_uFlags & KindMask) == KindParameterized;

        /// <summary>The EETypeElementType code (see the table above).</summary>
        internal uint ElementType => (_uFlags & ElementTypeMask) >> ElementTypeShift;

        /// <summary>Base type of a canonical type (null for Object and interfaces), element type of a
        /// parameterized one.</summary>
        internal MethodTable* RelatedType => _relatedType;
    }
}
