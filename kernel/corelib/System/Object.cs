using Internal.Runtime;

namespace System
{
    /// <summary>
    /// The root of every reference type. Its only field is the MethodTable pointer that ilc
    /// places at offset 0 of every object; it is what RhpNewFast writes and what type checks read.
    /// </summary>
    public unsafe class Object
    {
#pragma warning disable 0169, 0649
        internal MethodTable* m_pMethodTable;
#pragma warning restore 0169, 0649

        /// <summary>Does nothing: objects are zeroed by the allocator.</summary>
        public Object() { }

        /// <summary>Reference equality. Structs override it (the library's address types do).</summary>
        public virtual bool Equals(object obj) => this == obj;

        /// <summary>A fixed value; structs override it.</summary>
        public virtual int GetHashCode() => 0;
    }
}
