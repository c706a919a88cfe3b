namespace System
{
    /// <summary>The primitive <c>ulong</c>. ilc lays it out itself; the field only gives
    /// members a way to name the value.</summary>
    public readonly struct UInt64
    {
        private readonly ulong m_value;

        /// <summary>The largest value.</summary>
        public const ulong MaxValue = 0xFFFFFFFFFFFFFFFFUL;
        /// <summary>The smallest value.</summary>
        public const ulong MinValue = 0UL;

        public bool Equals(ulong other) => m_value == other;
        public override bool Equals(object obj) => obj is ulong v && v == m_value;
        public int CompareTo(ulong other) => m_value < other ? -1 : m_value > other ? 1 : 0;
        public override int GetHashCode() => (int)m_value ^ (int)(m_value >> 32);
    }
}
