// Code lists of docs/data-model.md §2 ("Enumerations") and §3 (formats).
// Enumerants are the JSON names; their labels are in i18n/*.json under
// "enum.<Name>.<value>".

export const kEnums = {
  Direction: ['import', 'export', 'transit', 'transhipment', 'domestic'],
  TransportMode: ['road_truck', 'road_car', 'road_bus', 'rail', 'sea_container', 'sea_bulk', 'sea_vessel',
    'sea_passenger', 'air_cargo', 'air_passenger', 'postal', 'express_courier', 'pedestrian', 'pipeline', 'other'],
  DetectionMethod: ['risk_profiling', 'nii_xray', 'detector_dog', 'physical_examination', 'document_check',
    'intelligence', 'tip_off', 'random_selection', 'behavioural_analysis', 'controlled_delivery',
    'post_clearance_audit', 'other'],
  ConcealmentMethod: ['not_concealed', 'misdeclared_goods', 'inside_goods', 'mixed_with_cargo',
    'vehicle_built_compartment', 'vehicle_natural_void', 'container_structure', 'luggage_false_bottom', 'luggage',
    'body_worn', 'internal_body', 'postal_item', 'clothing', 'other'],
  Offence: ['smuggling', 'prohibited_goods', 'restricted_no_licence', 'false_description', 'undervaluation',
    'false_origin', 'excise_evasion', 'ipr_infringement', 'cites_violation', 'currency_not_declared',
    'money_laundering', 'document_fraud', 'other'],
  RouteRole: ['origin', 'departure', 'transit', 'seizure', 'destination'],
  ConveyanceType: ['vehicle', 'container', 'vessel', 'aircraft', 'rail_wagon', 'postal_item', 'person', 'other'],
  GoodsCategory: ['drugs', 'precursors', 'revenue', 'environment', 'ipr', 'weapons', 'cultural', 'currency',
    'nuclear', 'medicines', 'other'],
  Unit: ['kg', 'g', 't', 'l', 'ml', 'stick', 'piece', 'pack', 'carton', 'tablet', 'ampoule', 'pair', 'm3', 'head',
    'currency_unit'],
  ValueBasis: ['customs', 'declared', 'street', 'market', 'estimated'],
  CaseStatus: ['open', 'under_investigation', 'referred_to_prosecution', 'closed'],
  Gender: ['m', 'f', 'x'],
  DocumentType: ['passport', 'national_id_card', 'driving_licence', 'residence_permit', 'seafarer_book', 'crew_card',
    'visa', 'other'],
  SuspectFlag: ['armed', 'violent', 'flight_risk', 'repeat_offender', 'courier', 'organiser', 'wanted', 'minor'],
  CompanyRole: ['importer', 'exporter', 'consignee', 'consignor', 'freight_forwarder', 'declarant', 'customs_broker',
    'carrier', 'manufacturer', 'shipping_agent', 'other'],
};

// Which enumeration a field holds, by field name (for showing labels).
export const kFieldEnum = {
  direction: 'Direction', transport_mode: 'TransportMode', detection_method: 'DetectionMethod',
  concealment_method: 'ConcealmentMethod', offences: 'Offence', role: 'RouteRole', category: 'GoodsCategory',
  unit: 'Unit', basis: 'ValueBasis', status: 'CaseStatus', gender: 'Gender', flags: 'SuspectFlag',
  roles: 'CompanyRole',
};

// ISO 3166-1 alpha-2 (officially assigned) plus XK, for <datalist>s; the
// server's list (storage/codes.cpp) is the one that decides.
export const kCountries = ('AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO ' +
  'BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ' +
  'ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL ' +
  'IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME ' +
  'MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH ' +
  'PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC ' +
  'TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK')
  .split(' ');

// ISO 4217 active codes plus XAU and XAG, as storage/codes.cpp (the server's
// list decides); the most used first.
export const kCurrencies = ('USD EUR GBP CHF JPY CNY AED AFN PKR INR IRR SAR TRY RUB UAH ' +
  'ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CLP COP ' +
  'CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB FJD FKP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS IQD ' +
  'ISK JMD JOD KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR ' +
  'MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PLN PYG QAR RON RSD RWF SBD SCR SDG SEK SGD ' +
  'SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TTD TWD TZS UGX UYU UZS VED VES VND VUV WST XAF ' +
  'XCD XCG XOF XPF YER ZAR ZMW ZWG XAU XAG').split(' ');

// Goods subtypes per category (docs/sharing.md, the subtypes a release
// keeps); the node's /api/codes may give more. Any code is accepted.
export const kSubtypes = {
  drugs: ['heroin', 'cocaine', 'cocaine_base', 'cannabis_herbal', 'cannabis_resin', 'cannabis_oil', 'methamphetamine',
    'amphetamine', 'captagon', 'mdma', 'fentanyl', 'opium', 'morphine', 'khat', 'ketamine', 'lsd',
    'synthetic_cannabinoids', 'new_psychoactive_substances', 'other'],
  precursors: ['acetic_anhydride', 'ephedrine', 'pseudoephedrine', 'potassium_permanganate', 'safrole', 'pmk', 'bmk',
    'other'],
  revenue: ['cigarettes', 'cigars', 'tobacco_raw', 'tobacco_water_pipe', 'alcohol', 'beer', 'wine', 'spirits', 'fuel',
    'sugar', 'foodstuffs', 'dried_apricots', 'textiles', 'electronics', 'vehicles', 'other'],
  environment: ['ivory_raw', 'ivory_worked', 'pangolin_scales', 'pangolins_live', 'rhino_horn', 'timber', 'rosewood',
    'birds_live', 'reptiles_live', 'reptile_skins', 'shark_fins', 'sea_cucumbers', 'corals', 'turtle_shells',
    'ozone_depleting_substances', 'hazardous_waste', 'e_waste', 'other'],
  ipr: ['watches', 'counterfeit_watches', 'handbags', 'clothing', 'footwear', 'cosmetics', 'perfume', 'pharmaceuticals',
    'electronics', 'spare_parts', 'toys', 'other'],
  weapons: ['firearms', 'firearm_parts', 'ammunition', 'explosives', 'other'],
  cultural: ['antiquities', 'artworks', 'manuscripts', 'coins', 'other'],
  currency: ['cash', 'banknotes', 'gold', 'precious_stones', 'bearer_instruments', 'other'],
  nuclear: ['radioactive_sources', 'nuclear_material', 'dual_use', 'other'],
  medicines: ['tramadol', 'falsified_medicines', 'antibiotics', 'anabolic_steroids', 'pharmaceuticals', 'other'],
  other: ['other'],
};

// The formats of data-model.md §3 that a free code must have.
export const kOfficePattern = /^[A-Z]{2}[A-Z2-9]{3}$/;
export const kHsPattern = /^(\d{6}|\d{8}|\d{10})$/;
export const kSubtypePattern = /^[a-z0-9_]{1,64}$/;

export const kCitesAppendices = ['I', 'II', 'III'];
