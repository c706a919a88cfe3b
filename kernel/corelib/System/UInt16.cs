namespace System
{
    /// <summary>The primitive <c>ushort</c>. ilc lays it out itself; the field only gives
    /// members a way to name the value.</summary>
    public readonly struct UInt16
    {
        private readonly ushort m_value;

        /// <summary>The largest value.</summary>
        public const ushort MaxValue = 65535;
        /// <summary>The smallest value.</summary>
        public const ushort MinValue = 0;

        public bool Equals(ushort other) => m_value == other;
        public override bool Equals(object obj) => obj is ushort v && v == m_value;
        public int CompareTo(ushort other) => m_value < other ? -1 : m_value > other ? 1 : 0;
        public override int GetHashCode() => (int)m_value;
    }
}
