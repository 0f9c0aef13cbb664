# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The embedded vocabulary of the synthetic MIMIC-IV generator: a small, hand-picked set of codes and their titles.

Nothing here is patient data. The identifiers and labels are dictionary entries:

- lab and ICU ``itemid`` / ``label`` / unit rows follow the MIMIC-IV v2.2 ``d_labitems`` and ``d_items`` dictionaries
  (as published in the open MIMIC-IV demo, ODbL 1.0);
- ICD-9-CM / ICD-10-CM / ICD-10-PCS codes and titles are the public CMS / NCHS code sets as worded in MIMIC-IV's
  ``d_icd_*`` tables;
- prescription rows (name, NDC, GSN, formulary code, strength) are written the way MIMIC-IV prescriptions writes
  those drugs; ED home-medication and Pyxis GSN / NDC pairs come from public GSN-NDC-ATC crosswalk rows.

The numeric columns (``mean``, ``sd``, ...) are this generator's own sampling parameters, not statistics of any dataset.
``tests/test_synth_mimic.py`` checks every code and label against the demo dictionaries when ``../shared`` is present.
"""

import functools
import io

import polars as pl


def _table(text: str, **overrides) -> pl.DataFrame:
    """Parse a CSV literal; every column is read as text unless ``overrides`` gives a dtype."""
    df = pl.read_csv(io.StringIO(text.strip()), infer_schema_length=0)
    return df.with_columns(pl.col(c).cast(t) for c, t in overrides.items())


# Lab items: dictionary columns (itemid, label, fluid, category), then the unit, the generator's mean and sd, the
# reference range printed in labevents (empty = none), decimals, a floor, and ``shift``: how many sd the value moves per
# unit of (positive) admission acuity, so that sicker admissions have more abnormal labs.
LABS = """
itemid,label,fluid,category,unit,mean,sd,lo,hi,dec,floor,shift
50983,Sodium,Blood,Chemistry,mEq/L,138,4,133,145,0,110,-0.3
50971,Potassium,Blood,Chemistry,mEq/L,4.2,0.5,3.3,5.1,1,2,0.3
50902,Chloride,Blood,Chemistry,mEq/L,102,5,96,108,0,75,0
50882,Bicarbonate,Blood,Chemistry,mEq/L,25,3.5,22,32,0,5,-1
50868,Anion Gap,Blood,Chemistry,mEq/L,14,3,8,20,0,3,1
51006,Urea Nitrogen,Blood,Chemistry,mg/dL,20,10,6,20,0,2,1.5
50912,Creatinine,Blood,Chemistry,mg/dL,1.1,0.4,0.5,1.2,1,0.2,1.5
50931,Glucose,Blood,Chemistry,mg/dL,125,35,70,100,0,30,0.5
51301,White Blood Cells,Blood,Hematology,K/uL,8.5,3,4,11,1,0.5,1.5
51222,Hemoglobin,Blood,Hematology,g/dL,11.5,1.8,13.7,17.5,1,4,-1
51221,Hematocrit,Blood,Hematology,%,34.5,5.5,40,51,1,12,-1
51265,Platelet Count,Blood,Hematology,K/uL,230,75,150,400,0,5,-0.8
51279,Red Blood Cells,Blood,Hematology,m/uL,3.8,0.6,4.6,6.1,2,1.2,-1
51250,MCV,Blood,Hematology,fL,91,6,80,100,0,60,0
51248,MCH,Blood,Hematology,pg,30,2.5,26,32,1,18,0
51249,MCHC,Blood,Hematology,g/dL,33,1.5,31,35,1,26,0
51277,RDW,Blood,Hematology,%,14.8,1.8,10.5,15.5,1,10,0.5
51237,INR(PT),Blood,Hematology,,1.2,0.3,0.9,1.1,1,0.8,1
51274,PT,Blood,Hematology,sec,13.5,3,9.4,12.5,1,9,1
51275,PTT,Blood,Hematology,sec,32,8,25,36.5,1,20,1
50861,Alanine Aminotransferase (ALT),Blood,Chemistry,IU/L,35,25,0,40,0,3,1
50878,Asparate Aminotransferase (AST),Blood,Chemistry,IU/L,38,28,0,40,0,5,1
50863,Alkaline Phosphatase,Blood,Chemistry,IU/L,95,40,35,105,0,15,0.5
50885,"Bilirubin, Total",Blood,Chemistry,mg/dL,0.8,0.6,0,1.5,1,0.1,1
50862,Albumin,Blood,Chemistry,g/dL,3.5,0.6,3.5,5.2,1,1,-1
50960,Magnesium,Blood,Chemistry,mg/dL,2,0.3,1.6,2.6,1,0.8,0
50970,Phosphate,Blood,Chemistry,mg/dL,3.6,0.9,2.7,4.5,1,0.8,0.5
50893,"Calcium, Total",Blood,Chemistry,mg/dL,8.8,0.6,8.4,10.3,1,5,-0.5
51003,Troponin T,Blood,Chemistry,ng/mL,0.03,0.04,,0.01,2,0.01,1
50820,pH,Blood,Blood Gas,units,7.39,0.06,7.35,7.45,2,6.8,-1
50818,pCO2,Blood,Blood Gas,mm Hg,41,8,35,45,0,15,0.5
50821,pO2,Blood,Blood Gas,mm Hg,105,45,85,105,0,30,0
50802,Base Excess,Blood,Blood Gas,mEq/L,-1,4,,,0,-30,-1
50813,Lactate,Blood,Blood Gas,mmol/L,1.6,0.8,0.5,2,1,0.3,2
"""

# Lab panels: the items drawn together under one specimen_id, and how often each panel is ordered on the wards, in the
# ICU, at the first draw of an ED visit, and as an outpatient (no hadm_id).
LAB_PANELS = """
panel,itemids,ward,icu,ed,outpatient
BMP,50983 50971 50902 50882 50868 51006 50912 50931,30,30,50,40
CBC,51301 51222 51221 51265 51279 51250 51248 51249 51277,30,30,50,40
COAG,51237 51274 51275,8,10,0,5
LFT,50861 50878 50863 50885 50862,8,6,0,15
CHEM,50960 50970 50893,15,15,0,0
TROP,51003,4,3,0,0
ABG,50820 50818 50821 50802 50813,0,20,0,0
"""

# Diagnoses. ``primary`` marks the acute reasons for admission that seq_num 1 is drawn from.
DIAGNOSES = """
icd_code,icd_version,long_title,primary
0389,9,Unspecified septicemia,1
99591,9,Sepsis,1
486,9,"Pneumonia, organism unspecified",1
41071,9,"Subendocardial infarction, initial episode of care",1
78650,9,"Chest pain, unspecified",1
5070,9,Pneumonitis due to inhalation of food or vomitus,1
431,9,Intracerebral hemorrhage,1
51881,9,Acute respiratory failure,1
5849,9,"Acute kidney failure, unspecified",1
4280,9,"Congestive heart failure, unspecified",1
5990,9,"Urinary tract infection, site not specified",1
4019,9,Unspecified essential hypertension,0
2724,9,Other and unspecified hyperlipidemia,0
42731,9,Atrial fibrillation,0
41401,9,Coronary atherosclerosis of native coronary artery,0
25000,9,"Diabetes mellitus without mention of complication, type II or unspecified type, not stated as uncontrolled",0
53081,9,Esophageal reflux,0
2859,9,"Anemia, unspecified",0
311,9,"Depressive disorder, not elsewhere classified",0
30000,9,"Anxiety state, unspecified",0
5859,9,"Chronic kidney disease, unspecified",0
2449,9,Unspecified acquired hypothyroidism,0
3051,9,Tobacco use disorder,0
2762,9,Acidosis,0
2761,9,Hyposmolality and/or hyponatremia,0
2767,9,Hyperpotassemia,0
27800,9,"Obesity, unspecified",0
496,9,"Chronic airway obstruction, not elsewhere classified",0
2875,9,"Thrombocytopenia, unspecified",0
2851,9,Acute posthemorrhagic anemia,0
2639,9,Unspecified protein-calorie malnutrition,0
V5861,9,Long-term (current) use of anticoagulants,0
V5866,9,Long-term (current) use of aspirin,0
V4986,9,Do not resuscitate status,0
V1582,9,Personal history of tobacco use,0
A419,10,"Sepsis, unspecified organism",1
R6520,10,Severe sepsis without septic shock,1
J189,10,"Pneumonia, unspecified organism",1
I214,10,Non-ST elevation (NSTEMI) myocardial infarction,1
R079,10,"Chest pain, unspecified",1
J690,10,Pneumonitis due to inhalation of food and vomit,1
I619,10,"Nontraumatic intracerebral hemorrhage, unspecified",1
J9601,10,Acute respiratory failure with hypoxia,1
N179,10,"Acute kidney failure, unspecified",1
I5033,10,Acute on chronic diastolic (congestive) heart failure,1
N390,10,"Urinary tract infection, site not specified",1
S72001A,10,"Fracture of unspecified part of neck of right femur, initial encounter for closed fracture",1
I10,10,Essential (primary) hypertension,0
E785,10,"Hyperlipidemia, unspecified",0
I4891,10,Unspecified atrial fibrillation,0
I2510,10,Atherosclerotic heart disease of native coronary artery without angina pectoris,0
E119,10,Type 2 diabetes mellitus without complications,0
K219,10,Gastro-esophageal reflux disease without esophagitis,0
D649,10,"Anemia, unspecified",0
F329,10,"Major depressive disorder, single episode, unspecified",0
F419,10,"Anxiety disorder, unspecified",0
N183,10,"Chronic kidney disease, stage 3 (moderate)",0
E039,10,"Hypothyroidism, unspecified",0
F17210,10,"Nicotine dependence, cigarettes, uncomplicated",0
E872,10,Acidosis,0
E871,10,Hypo-osmolality and hyponatremia,0
E669,10,"Obesity, unspecified",0
J449,10,"Chronic obstructive pulmonary disease, unspecified",0
D696,10,"Thrombocytopenia, unspecified",0
D62,10,Acute posthemorrhagic anemia,0
E43,10,Unspecified severe protein-calorie malnutrition,0
G4733,10,Obstructive sleep apnea (adult) (pediatric),0
Z7901,10,Long term (current) use of anticoagulants,0
Z794,10,Long term (current) use of insulin,0
Z66,10,Do not resuscitate,0
Z87891,10,Personal history of nicotine dependence,0
"""

PROCEDURES = """
icd_code,icd_version,long_title
9904,9,Transfusion of packed cells
3893,9,"Venous catheterization, not elsewhere classified"
9671,9,Continuous invasive mechanical ventilation for less than 96 consecutive hours
9604,9,Insertion of endotracheal tube
3891,9,Arterial catheterization
8872,9,Diagnostic ultrasound of heart
8703,9,Computerized axial tomography of head
3995,9,Hemodialysis
966,9,Enteral infusion of concentrated nutritional substances
5491,9,Percutaneous abdominal drainage
30233N1,10,"Transfusion of Nonautologous Red Blood Cells into Peripheral Vein, Percutaneous Approach"
02HV33Z,10,"Insertion of Infusion Device into Superior Vena Cava, Percutaneous Approach"
5A1945Z,10,"Respiratory Ventilation, 24-96 Consecutive Hours"
0BH17EZ,10,"Insertion of Endotracheal Airway into Trachea, Via Natural or Artificial Opening"
B548ZZA,10,"Ultrasonography of Superior Vena Cava, Guidance"
B24BZZ4,10,"Ultrasonography of Heart with Aorta, Transesophageal"
5A1D70Z,10,"Performance of Urinary Filtration, Intermittent, Less than 6 Hours Per Day"
3E0G76Z,10,"Introduction of Nutritional Substance into Upper GI, Via Natural or Artificial Opening"
0W9G3ZZ,10,"Drainage of Peritoneal Cavity, Percutaneous Approach"
0DJ08ZZ,10,"Inspection of Upper Intestinal Tract, Via Natural or Artificial Opening Endoscopic"
"""

HCPCS = """
code,category,long_description,short_description
G0378,,"Hospital observation service, per hour",Hospital observation per hr
99219,1,,Hospital observation services
93454,1,,Cardiovascular
"""

DRGS = """
drg_code,description
871,SEPTICEMIA OR SEVERE SEPSIS W/O MV >96 HOURS W MCC
193,SIMPLE PNEUMONIA & PLEURISY W MCC
291,HEART FAILURE & SHOCK W MCC
280,"ACUTE MYOCARDIAL INFARCTION, DISCHARGED ALIVE W MCC"
313,CHEST PAIN
690,KIDNEY & URINARY TRACT INFECTIONS W/O MCC
682,RENAL FAILURE W MCC
189,PULMONARY EDEMA & RESPIRATORY FAILURE
064,INTRACRANIAL HEMORRHAGE OR CEREBRAL INFARCTION W MCC
392,"ESOPHAGITIS, GASTROENT & MISC DIGEST DISORDERS W/O MCC"
"""

# Prescriptions: MIMIC drug strings with their NDC / GSN / formulary code and a usual dose; ``per_day`` is
# doses_per_24_hrs (empty = PRN or once).
DRUGS = """
drug,ndc,gsn,formulary_drug_cd,prod_strength,dose_val_rx,dose_unit_rx,route,per_day,form_val_disp,form_unit_disp
Sodium Chloride 0.9%,00338004904,001210,NSLV,Floor Stock Bag,1000,mL,IV,,1000,mL
Heparin,63323026201,006549,HEPA5I,5000 Units / mL- 1mL Vial,5000,UNIT,SC,3,1,mL
Insulin,00002751001,027413,HUMU100I,100 Units / mL - 10 mL Vial,0,UNIT,SC,4,0,VIAL
Magnesium Sulfate,00409672924,016546,MAG2PM,2 g / 50 mL Premix Bag,2,gm,IV,,1,BAG
Docusate Sodium,00904224461,003009,DOCU100,100mg Capsule,100,mg,PO/NG,2,1,CAP
Acetaminophen,51079000220,004489,ACET325,325mg Tablet,650,mg,PO/NG,4,2,TAB
Furosemide,00409610202,008205,FURO20I,20mg/2mL Vial,20,mg,IV,2,1,VIAL
Aspirin,00904404073,004380,ASA81,81mg Tab,81,mg,PO/NG,1,1,TAB
Potassium Chloride,00245004101,001275,MICROK10,10mEq ER Tablet,40,mEq,PO,1,4,TAB
Vancomycin,00338355248,043952,VANC1F,1g Frozen Bag,1000,mg,IV,2,1,BAG
Lactated Ringers,00338011704,001187,LRLV,Floor Stock Bag,1000,mL,IV,,1000,mL
Senna,00904516561,019964,SENN187,8.6 mg Tablet,8.6,mg,PO/NG,2,1,TAB
Bisacodyl,00574705050,002944,BISA10R,10mg Suppository,10,mg,PR,,1,SUPP
Polyethylene Glycol,11523726808,034313,GLYC17,17g Packet,17,g,PO/NG,1,1,PKT
Ondansetron,00641607825,061716,ONDAN4I,2mg/mL-2mL,4,mg,IV,,1,VIAL
Metoprolol Tartrate,00409177805,019808,METO5I,5mg/5mL Vial,5,mg,IV,4,1,VIAL
Famotidine,00338519741,021732,FAMO20PM,20mg Premix Bag,20,mg,IV,2,1,BAG
Albuterol 0.083% Neb Soln,49502069724,005039,ALBU3H,0.083%;3mL Vial,1,NEB,IH,,1,VIAL
OxycoDONE (Immediate Release),00406055262,004225,OXYC5,5mg Tablet,5,mg,PO/NG,,1,TAB
Glucagon,55390000401,041660,GLUC1I,1mg Vial,1,mg,IM,,1,VIAL
Dextrose 50%,00409490234,001989,DEX50SY,25 g / 50 mL Syringe,12.5,gm,IV,,0.5,SYR
Calcium Gluconate,61553005148,066576,CALCG2/100NS,2 g / 100 mL Premix Bag,2,g,IV,,1,BAG
Multivitamins,00904053061,002532,MVI,1 Tablet,1,TAB,PO/NG,1,1,TAB
Acetaminophen IV,43825010201,066887,ACET1000I,1000 mg / 100 mL Vial,1000,mg,IV,,1,VIAL
MetRONIDAZOLE (FLagyl),00338105548,009588,METR500PM,500mg Premix Bag,500,mg,IV,3,1,BAG
Propofol,63323026965,016796,PROP100IG,1000mg/100mL Vial,1000,mg,IV DRIP,,1,VIAL
NORepinephrine,61553012011,066419,NORE8/250N,8 mg / 250 mL Premix Bag,8,mg,IV DRIP,,1,BAG
Fentanyl Citrate,61553011841,048287,FENT2.550,2.5mg / 50 mL Premix Bag,2.5,mg,IV DRIP,,1,BAG
HYDROmorphone (Dilaudid),61553020648,048078,HYDR20/100NS,20 mg / 100 mL Premix Bag,20,mg,IVPCA,,1,BAG
Chlorhexidine Gluconate 0.12% Oral Rinse,54569523500,057959,CHLO15L,15ml Cup,15,mL,ORAL,2,1,UDCUP
"""

# ED home medications (medrecon): name as MIMIC-ED writes it, then a GSN / NDC pair taken together from one row of a
# public GSN-NDC-ATC crosswalk, and a plain-words therapeutic class. FDB's proprietary ETC codes are not reproduced:
# ``etccode`` is written empty.
HOME_MEDS = """
name,gsn,ndc,etcdescription
atorvastatin,029967,10135064910,Antihyperlipidemic - HMG CoA Reductase Inhibitors (statins)
simvastatin,016577,10135050905,Antihyperlipidemic - HMG CoA Reductase Inhibitors (statins)
lisinopril,000388,12280012630,ACE Inhibitors
metoprolol succinate,005131,10544055390,Beta-Blockers - Beta-1 Selective
aspirin,004380,10135024036,Salicylates
metformin,013318,16590031330,Antidiabetic - Biguanides
omeprazole,025703,37000005845,Proton Pump Inhibitors
amlodipine,016925,10135052403,Calcium Channel Blockers - Dihydropyridines
furosemide,008205,21695072125,Diuretic - Loop
gabapentin,021413,10135064401,Anticonvulsant - GABA Analogs
sertraline,046227,13668000401,Antidepressant - SSRIs
warfarin,006559,15330010801,Anticoagulant - Coumarin
insulin glargine,047780,49502019580,Insulins
albuterol sulfate,005039,12280024125,Beta-Adrenergic Agents - Inhaled
acetaminophen,004489,10135012301,Analgesic or Antipyretic Non-Opioid
"""

# ED Pyxis dispenses: name and GSN.
PYXIS = """
name,gsn
Acetaminophen,004489
Ondansetron,061716
Sodium Chloride 0.9%  Flush,001210
Morphine Sulfate,004067
Ketorolac,016404
Aspirin,004380
Potassium Chloride,001275
LORazepam,003757
Heparin,006549
Ceftriaxone,009162
"""

# ICU items (d_items rows) with the generator's value model. ``group`` ties chartevents items that are charted together
# (one timestamp), ``every_h`` is the charting interval in hours; ``options`` lists text values as "valuenum:text" pairs.
ICU_ITEMS = """
itemid,label,abbreviation,linksto,category,unitname,param_type,lownormalvalue,highnormalvalue
220045,Heart Rate,HR,chartevents,Routine Vital Signs,bpm,Numeric,,
220179,Non Invasive Blood Pressure systolic,NBPs,chartevents,Routine Vital Signs,mmHg,Numeric,,
220180,Non Invasive Blood Pressure diastolic,NBPd,chartevents,Routine Vital Signs,mmHg,Numeric,,
220181,Non Invasive Blood Pressure mean,NBPm,chartevents,Routine Vital Signs,mmHg,Numeric,,
220210,Respiratory Rate,RR,chartevents,Respiratory,insp/min,Numeric,,
220277,O2 saturation pulseoxymetry,SpO2,chartevents,Respiratory,%,Numeric,,
223761,Temperature Fahrenheit,Temperature F,chartevents,Routine Vital Signs,°F,Numeric,,
220739,GCS - Eye Opening,Eye Opening,chartevents,Neurological,,Text,,
223900,GCS - Verbal Response,Verbal Response,chartevents,Neurological,,Text,,
223901,GCS - Motor Response,Motor Response,chartevents,Neurological,,Text,,
220048,Heart Rhythm,Heart Rhythm,chartevents,Routine Vital Signs,,Text,,
225664,Glucose finger stick (range 70-100),Glucose FS (range 70 -100),chartevents,Labs,None,Numeric,,
226512,Admission Weight (Kg),Admission Weight (Kg),chartevents,General,kg,Numeric,,
224288,Arterial line Insertion Date,Arterial line Insertion Date,datetimeevents,Access Lines - Invasive,,Date and time,,
224280,Multi Lumen Insertion Date,Multi Lumen Insertion Date,datetimeevents,Access Lines - Invasive,,Date and time,,
225754,20 Gauge Insertion Date,20 Gauge Insertion Date,datetimeevents,Access Lines - Peripheral,,Date and time,,
225158,NaCl 0.9%,NaCl 0.9%,inputevents,Fluids/Intake,mL,Solution,,
220949,Dextrose 5%,Dextrose 5%,inputevents,Fluids/Intake,mL,Solution,,
222168,Propofol,Propofol,inputevents,Medications,mg,Solution,,
221906,Norepinephrine,Norepinephrine,inputevents,Medications,mg,Solution,,
223258,Insulin - Regular,Insulin - Regular,inputevents,Medications,units,Solution,,
225798,Vancomycin,Vancomycin,inputevents,Antibiotics,dose,Solution,,
221744,Fentanyl,Fentanyl,inputevents,Medications,mg,Solution,,
225166,Potassium Chloride,Potassium Chloride - KCL,inputevents,Medications,mEq,Solution,,
225975,Heparin Sodium (Prophylaxis),Heparin Sodium (Prophylaxis),inputevents,Medications,dose,Solution,,
226452,PO Intake,PO Intake,inputevents,Fluids/Intake,mL,Solution,,
225799,Gastric Meds,Gastric Meds,inputevents,Fluids/Intake,mL,Solution,,
220490,Water,H2O,ingredientevents,Ingredients,mL,Ingredient,,
226559,Foley,Foley,outputevents,Output,mL,Numeric,,
226560,Void,Void,outputevents,Output,mL,Numeric,,
226588,Chest Tube #1,Chest Tube #1,outputevents,Output,mL,Numeric,,
225459,Chest X-Ray,Chest X-Ray,procedureevents,5-Imaging,None,Processes,,
225402,EKG,EKG,procedureevents,4-Procedures,None,Processes,,
225792,Invasive Ventilation,Invasive Ventilation,procedureevents,2-Ventilation,None,Processes,,
225752,Arterial Line,Arterial Line,procedureevents,Access Lines - Invasive,None,Processes,,
224263,Multi Lumen,Multi Lumen,procedureevents,Access Lines - Invasive,None,Processes,,
224275,20 Gauge,20 Gauge,procedureevents,Access Lines - Peripheral,None,Processes,,
"""

# chartevents value model: numeric items (mean, sd, dec, floor, shift per unit of acuity) in charting groups.
CHART_NUMERIC = """
itemid,group,every_h,valueuom,mean,sd,dec,floor,shift
220045,vitals,1,bpm,84,14,0,30,0.8
220179,vitals,1,mmHg,122,18,0,60,-0.5
220180,vitals,1,mmHg,64,11,0,25,-0.4
220181,vitals,1,mmHg,81,12,0,35,-0.5
220210,vitals,1,insp/min,18,4,0,6,0.7
220277,vitals,1,%,96.5,2,0,70,-0.6
223761,neuro,4,°F,98.4,0.9,1,94,0.6
225664,glucose,6,mg/dL,135,35,0,40,0.4
"""

# chartevents text items: "valuenum|value" options from best to worst; acuity moves the pick towards the end.
CHART_TEXT = {
    220739: ("4|4 Spontaneously", "3|3 To Speech", "2|2 To Pain", "1|1 No Response"),
    223900: ("5|5 Oriented", "4|4 Confused", "3|3 Inappropriate Words", "1|No Response-ETT"),
    223901: ("6|6 Obeys Commands", "5|5 Localizes Pain", "4|4 Flex-withdraws", "1|1 No response"),
    220048: ("|SR (Sinus Rhythm)", "|ST (Sinus Tachycardia)", "|SB (Sinus Bradycardia)", "|AF (Atrial Fibrillation)"),
}

# inputevents: kind (drip = continuous rate, push = one-minute dose, bolus = one-minute volume), amount model, category.
INPUTS = """
itemid,kind,weight,amountuom,amount,rate,rateuom,ordercategoryname,secondaryordercategoryname,ordercomponenttypedescription,ordercategorydescription
225158,drip,20,ml,50,15,mL/hour,01-Drips,02-Fluids (Crystalloids),Mixed solution,Continuous Med
220949,drip,15,ml,60,16,mL/hour,01-Drips,02-Fluids (Crystalloids),Mixed solution,Continuous Med
222168,drip,6,mg,145,30,mcg/kg/min,01-Drips,02-Fluids (Crystalloids),Main order parameter,Continuous Med
221906,drip,7,mg,0.6,0.14,mcg/kg/min,01-Drips,02-Fluids (Crystalloids),Main order parameter,Continuous Med
223258,drip,5,units,4,3.3,units/hour,01-Drips,02-Fluids (Crystalloids),Main order parameter,Continuous Med
225798,push,3,dose,1,,,08-Antibiotics (IV),02-Fluids (Crystalloids),Main order parameter,Drug Push
221744,push,5,mcg,50,,,05-Med Bolus,,Main order parameter,Drug Push
225166,push,3,mEq,20,,,02-Fluids (Crystalloids),Additive (Crystalloid),Main order parameter,Continuous IV
225975,push,4,dose,1,,,11-Prophylaxis (Non IV),,Main order parameter,Drug Push
226452,bolus,6,ml,150,,,14-Oral/Gastric Intake,,Main order parameter,Bolus
225799,bolus,5,ml,40,,,14-Oral/Gastric Intake,,Main order parameter,Bolus
"""

# procedureevents: task = one-off (value 1, uom "None" as in MIMIC); line/vent = continuous with a duration in minutes.
PROCEDURE_ITEMS = """
itemid,kind,p,location,locationcategory,ordercategoryname,ordercategorydescription,datetime_itemid
225459,task,0.9,,,Imaging,Task,
225402,task,0.6,,,Procedures,Task,
224275,line,0.9,Left Antecubital,Peripheral,Peripheral Lines,ContinuousProcess,225754
225752,line,0.45,Right Radial,Invasive Arterial,Invasive Lines,ContinuousProcess,224288
224263,line,0.35,Right IJ,Invasive Venous,Invasive Lines,ContinuousProcess,224280
225792,vent,0.3,,,Ventilation,ContinuousProcess,
"""

MICRO_SPECIMENS = """
spec_itemid,spec_type_desc,test_itemid,test_name,weight,growth
70079,URINE,90039,URINE CULTURE,30,0.3
70012,BLOOD CULTURE,90201,"Blood Culture, Routine",30,0.12
70062,SPUTUM,90055,RESPIRATORY CULTURE,12,0.45
70091,MRSA SCREEN,90189,MRSA SCREEN,10,0.1
70070,SWAB,90046,WOUND CULTURE,6,0.5
70064,STOOL,90221,C. difficile PCR,6,0.1
"""

ORGANISMS = """
org_itemid,org_name
80002,ESCHERICHIA COLI
80023,STAPH AUREUS COAG +
80004,KLEBSIELLA PNEUMONIAE
80026,PSEUDOMONAS AERUGINOSA
80053,ENTEROCOCCUS SP.
80017,PROTEUS MIRABILIS
"""

ANTIBIOTICS = """
ab_itemid,ab_name
90012,GENTAMICIN
90008,TRIMETHOPRIM/SULFA
90029,MEROPENEM
90017,CEFTAZIDIME
90019,CIPROFLOXACIN
90028,CEFEPIME
90026,PIPERACILLIN/TAZO
90018,CEFTRIAXONE
90004,AMPICILLIN
"""

RADIOLOGY_EXAMS = """
exam_name,exam_code,cpt_code,region,weight
CHEST (PORTABLE AP),C11,71045,chest,40
CHEST (PA AND LAT),C13,71046,chest,20
CT HEAD W/O CONTRAST,CHHD,70450,head,15
CT ABD & PELVIS WITH CONTRAST,CAPC,74177,abdomen,12
RENAL U.S.,URNL,76770,abdomen,7
LIVER OR GALLBLADDER US (SINGLE ORGAN),ULIV,76705,abdomen,6
"""

RADIOLOGY_FINDINGS = {
    "chest": (
        (
            "Lungs are clear. No pleural effusion or pneumothorax. Cardiomediastinal silhouette is normal.",
            "No acute cardiopulmonary process.",
        ),
        (
            "Patchy opacity in the right lower lobe. Small right pleural effusion.",
            "Right lower lobe opacity concerning for pneumonia.",
        ),
        (
            "Mild pulmonary vascular congestion with small bilateral pleural effusions. Moderate cardiomegaly.",
            "Mild pulmonary edema.",
        ),
    ),
    "head": (
        (
            "No intracranial hemorrhage, mass effect or acute territorial infarct. Ventricles are normal in size.",
            "No acute intracranial abnormality.",
        ),
        (
            "Periventricular white matter hypodensities, likely chronic small vessel ischemic disease.",
            "No acute intracranial process. Chronic small vessel disease.",
        ),
    ),
    "abdomen": (
        (
            "The liver, gallbladder, pancreas, spleen and kidneys are unremarkable. No free fluid.",
            "No acute abdominal or pelvic process.",
        ),
        ("Mild hydronephrosis of the right kidney. Small volume ascites.", "Mild right hydronephrosis."),
    ),
}

CHIEF_COMPLAINTS = (
    "Chest pain",
    "Dyspnea",
    "Abd pain",
    "Fever",
    "Weakness",
    "Altered mental status",
    "s/p Fall",
    "Syncope",
    "N/V",
    "Headache",
    "Hypotension",
    "Abnormal labs",
    "Transfer",
    "Back pain",
    "Cough",
)

WARD_UNITS = (
    "Medicine",
    "Med/Surg",
    "Medicine/Cardiology",
    "Neurology",
    "Hematology/Oncology",
    "Surgery",
    "Transplant",
    "Cardiac Surgery",
    "Observation",
)
ICU_UNITS = (
    "Medical Intensive Care Unit (MICU)",
    "Surgical Intensive Care Unit (SICU)",
    "Cardiac Vascular Intensive Care Unit (CVICU)",
    "Medical/Surgical Intensive Care Unit (MICU/SICU)",
    "Trauma SICU (TSICU)",
    "Coronary Care Unit (CCU)",
    "Neuro Surgical Intensive Care Unit (Neuro SICU)",
)
SERVICES = ("MED", "CMED", "SURG", "OMED", "CSURG", "NSURG", "VSURG", "NMED", "TRAUM", "ORTHO")
SERVICE_NAMES = {
    "MED": "MEDICINE",
    "CMED": "MEDICINE",
    "OMED": "MEDICINE",
    "NMED": "NEUROLOGY",
    "SURG": "SURGERY",
    "CSURG": "CARDIOTHORACIC",
    "NSURG": "NEUROSURGERY",
    "VSURG": "SURGERY",
    "TRAUM": "SURGERY",
    "ORTHO": "ORTHOPAEDICS",
}
# admission_type -> (weight, probability that the admission came through the ED)
ADMISSION_TYPES = {
    "EW EMER.": (38, 0.95),
    "OBSERVATION ADMIT": (16, 0.5),
    "URGENT": (14, 0.3),
    "EU OBSERVATION": (11, 0.95),
    "SURGICAL SAME DAY ADMISSION": (7, 0.0),
    "DIRECT EMER.": (5, 0.0),
    "ELECTIVE": (5, 0.0),
    "DIRECT OBSERVATION": (2, 0.0),
    "AMBULATORY OBSERVATION": (2, 0.0),
}
ADMISSION_LOCATIONS = (
    "PHYSICIAN REFERRAL",
    "TRANSFER FROM HOSPITAL",
    "CLINIC REFERRAL",
    "WALK-IN/SELF REFERRAL",
    "PROCEDURE SITE",
)
DISCHARGE_LOCATIONS = (
    "HOME",
    "HOME HEALTH CARE",
    "SKILLED NURSING FACILITY",
    "REHAB",
    "CHRONIC/LONG TERM ACUTE CARE",
    "HOSPICE",
    "AGAINST ADVICE",
)
RACES = (
    "WHITE",
    "BLACK/AFRICAN AMERICAN",
    "HISPANIC/LATINO - PUERTO RICAN",
    "ASIAN",
    "UNKNOWN",
    "OTHER",
    "WHITE - OTHER EUROPEAN",
    "BLACK/CAPE VERDEAN",
)
RACE_WEIGHTS = (62, 16, 5, 4, 5, 4, 2, 2)
MARITAL = ("SINGLE", "MARRIED", "WIDOWED", "DIVORCED")
ANCHOR_YEAR_GROUPS = ("2008 - 2010", "2011 - 2013", "2014 - 2016", "2017 - 2019", "2020 - 2022")
ED_DISPOSITIONS = (
    "HOME",
    "HOME",
    "HOME",
    "HOME",
    "LEFT WITHOUT BEING SEEN",
    "TRANSFER",
    "ELOPED",
    "LEFT AGAINST MEDICAL ADVICE",
    "OTHER",
)
ARRIVAL = ("WALK IN", "WALK IN", "AMBULANCE", "AMBULANCE", "UNKNOWN", "OTHER", "HELICOPTER")
# POE orders that are not prescriptions: order_type, order_subtype (empty = null), relative weight.
POE_OTHER = """
order_type,order_subtype,weight
General Care,Vitals/Monitoring,14
General Care,Other,10
Nutrition,Diet Order,10
IV therapy,IV access,8
ADT orders,Admit,4
Radiology,General Xray,6
Respiratory,,4
Consults,,3
Blood Bank,,3
Cardiology,,2
"""


@functools.cache
def table(name: str) -> pl.DataFrame:
    """One vocabulary table by name (cached)."""
    num = pl.Float64
    specs = {
        "labs": (LABS, dict(itemid=pl.Int64, mean=num, sd=num, lo=num, hi=num, dec=pl.Int64, floor=num, shift=num)),
        "lab_panels": (LAB_PANELS, dict(ward=num, icu=num, ed=num, outpatient=num)),
        "diagnoses": (DIAGNOSES, dict(icd_version=pl.Int64, primary=pl.Int64)),
        "procedures": (PROCEDURES, dict(icd_version=pl.Int64)),
        "hcpcs": (HCPCS, dict(category=pl.Int64)),
        "drgs": (DRGS, {}),
        "drugs": (DRUGS, dict(per_day=num)),
        "home_meds": (HOME_MEDS, {}),
        "pyxis": (PYXIS, {}),
        "icu_items": (ICU_ITEMS, dict(itemid=pl.Int64, lownormalvalue=num, highnormalvalue=num)),
        "chart_numeric": (
            CHART_NUMERIC,
            dict(itemid=pl.Int64, every_h=num, mean=num, sd=num, dec=pl.Int64, floor=num, shift=num),
        ),
        "inputs": (INPUTS, dict(itemid=pl.Int64, weight=num, amount=num, rate=num)),
        "procedure_items": (PROCEDURE_ITEMS, dict(itemid=pl.Int64, p=num, datetime_itemid=pl.Int64)),
        "micro_specimens": (MICRO_SPECIMENS, dict(spec_itemid=pl.Int64, test_itemid=pl.Int64, weight=num, growth=num)),
        "organisms": (ORGANISMS, dict(org_itemid=pl.Int64)),
        "antibiotics": (ANTIBIOTICS, dict(ab_itemid=pl.Int64)),
        "radiology_exams": (RADIOLOGY_EXAMS, dict(weight=num)),
        "poe_other": (POE_OTHER, dict(weight=num)),
    }
    text, dtypes = specs[name]
    return _table(text, **dtypes)


# Plain-words pharmacological classes of the prescription drugs above, written by the generator as
# ``index_mapping/d_atc_prescriptions.csv`` (ndc_code, atc_name) so that the ATC tasks work without external tables.
# These are this project's own class labels, not the WHO ATC names.
DRUG_CLASSES = {
    "Sodium Chloride 0.9%": "electrolyte solutions",
    "Heparin": "heparin group anticoagulants",
    "Insulin": "insulins, fast-acting",
    "Magnesium Sulfate": "magnesium supplements",
    "Docusate Sodium": "softening laxatives",
    "Acetaminophen": "anilide analgesics",
    "Furosemide": "loop diuretics",
    "Aspirin": "platelet aggregation inhibitors",
    "Potassium Chloride": "potassium supplements",
    "Vancomycin": "glycopeptide antibacterials",
    "Lactated Ringers": "electrolyte solutions",
    "Senna": "contact laxatives",
    "Bisacodyl": "contact laxatives",
    "Polyethylene Glycol": "osmotic laxatives",
    "Ondansetron": "serotonin antagonist antiemetics",
    "Metoprolol Tartrate": "selective beta blockers",
    "Famotidine": "H2-receptor antagonists",
    "Albuterol 0.083% Neb Soln": "inhaled beta-2 agonists",
    "OxycoDONE (Immediate Release)": "opioid analgesics",
    "Glucagon": "glycogenolytic hormones",
    "Dextrose 50%": "carbohydrate solutions",
    "Calcium Gluconate": "calcium supplements",
    "Multivitamins": "multivitamins",
    "Acetaminophen IV": "anilide analgesics",
    "MetRONIDAZOLE (FLagyl)": "imidazole antibacterials",
    "Propofol": "general anesthetics",
    "NORepinephrine": "adrenergic vasopressors",
    "Fentanyl Citrate": "opioid analgesics",
    "HYDROmorphone (Dilaudid)": "opioid analgesics",
    "Chlorhexidine Gluconate 0.12% Oral Rinse": "oral antiseptics",
}
